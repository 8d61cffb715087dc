"""Z3 proofs of the schedulers' invariants (claims C1, C2, C3, C16 and hsf's safety), with mutants that must fail.

`encoding` is the symbolic round, `bmc` the bounded proofs over boxes of instances,
`lemma` the horizon-free one-round induction step, `mutants` the broken variants
(in the encoding and as engine schedulers), `differential` the encoding-vs-engine
check. The C16 horizon they prove is `amin.horizon.horizon_bound`, in the core. Z3 is imported here: the
model layer (`amin`) never imports this package.
"""

from .bmc import ProofSpec, Row, check, complete_horizon, run_isolated, run_spec, standard_specs, termination_horizon
from .encoding import Box, Semantics
from .lemma import LEMMAS, check_base, check_lemma
from .mutants import MUTANTS, Mutant, engine_scheduler

__all__ = [
    "LEMMAS",
    "MUTANTS",
    "Box",
    "Mutant",
    "ProofSpec",
    "Row",
    "Semantics",
    "check",
    "check_base",
    "check_lemma",
    "complete_horizon",
    "engine_scheduler",
    "run_isolated",
    "run_spec",
    "standard_specs",
    "termination_horizon",
]
