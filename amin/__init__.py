"""amin: a verified reference implementation of the Amin and Amax schedulers for LLM inference.

The model and the online schedulers (SPEC sections 1-3). Standard library only at
import time: no solver, no Z3, no Hypothesis.
"""

from .check import ScheduleError, check_result, check_schedule, memory_profile, memory_series
from .engine import RoundEvent, Simulation, simulate
from .horizon import NonTermination
from .model import Instance, InstanceError, PublicRequest, Request, load_instance, make_instance, save_instance
from .results import Eviction, MemorySeries, Record, Result
from .schedulers import SCHEDULERS, Job, Scheduler, make_scheduler

__version__ = "0.1.0"

__all__ = [
    "SCHEDULERS",
    "Eviction",
    "Instance",
    "InstanceError",
    "Job",
    "MemorySeries",
    "NonTermination",
    "PublicRequest",
    "Record",
    "Request",
    "Result",
    "RoundEvent",
    "ScheduleError",
    "Scheduler",
    "Simulation",
    "check_result",
    "check_schedule",
    "load_instance",
    "make_instance",
    "make_scheduler",
    "memory_profile",
    "memory_series",
    "save_instance",
    "simulate",
]
