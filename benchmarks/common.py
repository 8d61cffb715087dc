"""Shared pieces of the benchmark scripts: the machine/versions header and the standard Azure instance."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata


def machine_header(packages: tuple[str, ...] = ("amin", "numpy")) -> str:
    """One line naming the machine, Python and package versions (benchmarks are quoted with it)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = []
    for p in packages:
        try:
            versions.append(f"{p} {metadata.version(p)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{p} (not installed)")
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {sys.version.split()[0]}; " + ", ".join(versions)
    )


def azure_instance(n: int = 2000, *, seed: int = 0, capacity: int = 16492, arrivals: str = "zero", x: float = 0.5):
    """The standard benchmark instance: n requests of the Azure 2023 conversation trace, intervals relative(x)."""
    from amin.predictors import relative
    from amin.traces import load_trace

    inst, _ = load_trace("azure-conv").sample(n, seed).to_instance(capacity, relative(x), arrivals=arrivals)
    return inst
