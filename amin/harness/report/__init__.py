"""`amin report`: the Amin paper's numerical study replicated on real public traces (grid, cell runner,
resumable storage, figures, markdown and claims evidence). The harness layer: nothing imports it."""

from amin.harness.report.grid import DEFAULT, QUICK, Cell, GridSpec, build_grid
from amin.harness.report.pipeline import ReportOutcome, generate

__all__ = ["DEFAULT", "QUICK", "Cell", "GridSpec", "ReportOutcome", "build_grid", "generate"]
