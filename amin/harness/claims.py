"""The claims of SPEC section 6 (C17 is ours) and the verdicts a claim can get, strongest first: what the
ledger merges, the evidence schema allows and every evidence writer names."""

from __future__ import annotations

CLAIMS: dict[str, str] = {
    "C1": "Amax never overflows memory when predictions are correct (l_i <= o_i <= u_i).",
    "C2": "Amin never exceeds memory M (its evictions always restore safety).",
    "C3": "Amin's pseudo lower bound is always a valid lower bound and never decreases.",
    "C4": "Amin never needs the upper bound (its schedule is independent of u_i).",
    "C5": "Amin evicts the least-progressed jobs first (ties broken randomly).",
    "C6": "Amin's work per step is O(M log M).",
    "C7": "Amin's competitive ratio is O(log(1/alpha)).",
    "C8": "Amax's competitive ratio is unbounded as alpha -> 0: lower bound about alpha^-1 (1 + alpha^-1/2) / 2.",
    "C9": "With two-point output distributions, Amin's ratio is at most 1.5.",
    "C10": "With geometric output distributions, Amin's ratio is at most 1.7.",
    "C11": "With linearly weighted geometric outputs, Amin's ratio is 1.56 (tight).",
    "C12": "H-SF is the hindsight optimum.",
    "C13": "Crude intervals [1, 1000]: Amin matches H-SF's latency; Amax is about 2x behind.",
    "C14": "Binned intervals: Amin halves Amax's latency gap to H-SF.",
    "C15": "Relative intervals [(1-x)o, (1+x)o]: Amin stays robust; up to 5x better than Amax when noisy.",
    "C16": "Amin terminates: no eviction livelock on any valid instance.",
    "C17": "(ours) H-SF is close to the hindsight optimum on real workloads at the paper's scale (2,000 requests).",
}
VERDICTS = ("refuted", "proved", "exhaustive", "tested", "open")  # strongest first
RANK = {v: len(VERDICTS) - k for k, v in enumerate(VERDICTS)}
