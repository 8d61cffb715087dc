"""The hindsight optimum (SPEC section 4): the exact integer program, an exhaustive ground truth, certified lower
bounds, and at any scale a bracket around it (the best checked schedule above, the best certified bound below)."""

from .bounds import lower_bound
from .bracket import Bracket, bracket
from .colgen import LagrangianBound, column_generation
from .combinatorial import Bound, combinatorial_bound
from .exhaustive import exhaustive
from .milp import FORMULATIONS, SOLVERS, ModelTooLarge, Solution, solve
from .schedules import PRIORITY_RULES, Schedule, best_schedule

__all__ = [
    "FORMULATIONS",
    "PRIORITY_RULES",
    "SOLVERS",
    "Bound",
    "Bracket",
    "LagrangianBound",
    "ModelTooLarge",
    "Schedule",
    "Solution",
    "best_schedule",
    "bracket",
    "column_generation",
    "combinatorial_bound",
    "exhaustive",
    "lower_bound",
    "solve",
]
