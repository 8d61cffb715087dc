"""The hindsight optimum (SPEC section 4): the exact integer program, an exhaustive ground truth,
and certified lower bounds for instances too large to solve."""

from .bounds import Bound, lower_bound
from .exhaustive import exhaustive
from .milp import FORMULATIONS, SOLVERS, Solution, solve

__all__ = ["Bound", "exhaustive", "lower_bound", "FORMULATIONS", "SOLVERS", "Solution", "solve"]
