"""The tests' Hypothesis strategies. Every strategy has one home, `amin.harness.search.strategies` (the CLI uses them
too); this module re-exports the ones the property tests draw from, with the shapes documented there."""

from amin.harness.search.strategies import SCHEDULER_OPTIONS, instances, requests_for

__all__ = ["SCHEDULER_OPTIONS", "instances", "requests_for"]
