"""Instance families in the theorems' setting (arrivals 0, one prompt, one interval) with closed-form latencies.

Each family is a frozen dataclass of its parameters: `shape()` builds it, and the `*_total_latency` methods give
the total latency of the scheduler it attacks, of H-SF and (where a theorem gives it) of OPT in closed form.
docs/search.md derives every formula; tests/quality/test_families.py checks each against both engines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from amin import Instance, Request

Block = tuple[int, int]
"""(count, output): `count` consecutive requests (in index order) with the same true output."""


@dataclass(frozen=True)
class Shape:
    """An instance of the theorems' setting written as blocks: all arrivals 0, one prompt `s`, one interval
    `[l, u]`, capacity `M`, and outputs given as (count, output) blocks in index order (the order decides
    admission among equal planned lengths, and the index tie-break)."""

    lower: int
    upper: int
    prompt: int
    capacity: int
    blocks: tuple[Block, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple((int(c), int(o)) for c, o in self.blocks if c > 0))

    @property
    def requests(self) -> int:
        return sum(c for c, _ in self.blocks)

    @property
    def alpha(self) -> float:
        return self.lower / self.upper

    @property
    def prompt_ratio(self) -> float:
        """s / u: how much of a request's memory is prompt."""
        return self.prompt / self.upper

    @property
    def parallelism(self) -> float:
        """M / (s + u): how many requests fit at their largest possible size."""
        return self.capacity / (self.prompt + self.upper)

    @property
    def load(self) -> float:
        """n (s + u) / M: the number of full memories of work, at the largest sizes."""
        return self.requests * (self.prompt + self.upper) / self.capacity

    def outputs(self) -> list[int]:
        return [o for c, o in self.blocks for _ in range(c)]

    def instance(self) -> Instance:
        r = [Request(self.prompt, o, self.lower, self.upper) for o in self.outputs()]
        return Instance(self.capacity, tuple(r))

    def valid(self) -> bool:
        """In the theorems' setting and a valid instance: 1 <= l <= o <= u, s + u <= M, at least one request."""
        return (
            1 <= self.lower <= self.upper
            and self.prompt >= 0
            and self.capacity >= self.prompt + self.upper
            and self.requests >= 1
            and all(self.lower <= o <= self.upper for _, o in self.blocks)
        )

    def describe(self) -> str:
        body = ", ".join(f"{c}x{o}" for c, o in self.blocks)
        return (
            f"n={self.requests}, s={self.prompt}, M={self.capacity}, [l,u]=[{self.lower},{self.upper}], outputs {body}"
        )


def merge_sorted(blocks: Iterable[Block]) -> tuple[Block, ...]:
    """The same multiset of outputs, shortest first, equal outputs merged (H-SF's and SPT's order)."""
    count: dict[int, int] = {}
    for c, o in blocks:
        count[o] = count.get(o, 0) + c
    return tuple((count[o], o) for o in sorted(count))


def list_latency(batches: Iterable[Block], machines: int) -> int:
    """Total latency of list scheduling on `machines` parallel machines, all jobs released at 0, when the jobs
    come as (batches, output) blocks of `batches * machines` equal jobs.

    Every batch of `machines` equal jobs starts together and ends together, so block b's i-th batch ends at
    T_b + i o_b, where T_b is the total length of the earlier batches:
    sum = machines * sum_b (c_b T_b + o_b c_b (c_b + 1) / 2).
    """
    total = elapsed = 0
    for c, o in batches:
        total += machines * (c * elapsed + o * c * (c + 1) // 2)
        elapsed += c * o
    return total


# --- F1: the order family (prompt-dominated list scheduling) ----------------------------------------------
@dataclass(frozen=True)
class OrderFamily:
    """F1: the prompt dominates the memory, so every scheduler is list scheduling on p machines.

    With p = `machines`, prompt s >= p (u - 1) and capacity M = p (s + u): any p requests fit at any size,
    and no p + 1 fit even at one token each ((p + 1)(s + 1) > M). So amin and amax (which plan every fresh
    request alike and never evict here) run the requests in index order on p machines, H-SF in shortest-first
    order, and so does OPT (SPT is optimal for P||sum C_j). `batches` are (batches, output) blocks in index
    order; block b has `batches * machines` requests.
    """

    lower: int
    upper: int
    batches: tuple[Block, ...]
    machines: int = 1
    extra_prompt: int = 0

    @property
    def prompt(self) -> int:
        return self.machines * (self.upper - 1) + self.extra_prompt

    @property
    def capacity(self) -> int:
        return self.machines * (self.prompt + self.upper)

    def shape(self) -> Shape:
        blocks = tuple((c * self.machines, o) for c, o in self.batches)
        return Shape(self.lower, self.upper, self.prompt, self.capacity, blocks)

    def valid(self) -> bool:
        p, s, m = self.machines, self.prompt, self.capacity
        return p >= 1 and self.extra_prompt >= 0 and (p + 1) * (s + 1) > m and self.shape().valid()

    def amin_total_latency(self) -> int:
        return list_latency(self.batches, self.machines)

    amax_total_latency = amin_total_latency

    def hsf_total_latency(self) -> int:
        return list_latency(merge_sorted(self.batches), self.machines)

    opt_total_latency = hsf_total_latency

    def random_order_latency(self) -> float:
        """E[total latency] of one machine (p = 1) serving the requests in a uniformly random order:
        each request waits for each other one with probability 1/2, so E = (n + 1) / 2 * sum of outputs."""
        if self.machines != 1:
            raise ValueError("the random-order formula is for one machine")
        n = sum(c for c, _ in self.batches)
        return (n + 1) / 2 * sum(c * o for c, o in self.batches)

    @classmethod
    def two_point(cls, lower: int, upper: int, longs: int, shorts: int, machines: int = 1) -> OrderFamily:
        """`longs` batches of output u first, then `shorts` batches of output l."""
        return cls(lower, upper, ((longs, upper), (shorts, lower)), machines)


def order_two_point_ratio(alpha_inverse: float, longs: int, shorts: int) -> float:
    """F1's ratio with m longs (u) before k shorts (l), one machine, u / l = `alpha_inverse`:
    (u m(m+1)/2 + k m u + l k(k+1)/2) / (l k(k+1)/2 + k m l + u m(m+1)/2), in units l = 1."""
    u, m, k = alpha_inverse, longs, shorts
    return (u * m * (m + 1) / 2 + k * m * u + k * (k + 1) / 2) / (k * (k + 1) / 2 + k * m + u * m * (m + 1) / 2)


def order_limit(alpha: float) -> float:
    """The supremum of F1's ratio (and of any order against shortest-first on p machines with outputs in
    [l, u]) as the number of requests grows: alpha^(-1/2). Two-point mixtures are the extreme points (the
    ratio of two linear functionals of the sorted outputs is quasi-convex), and the two-point ratio
    (u + 2xu + lx^2) / (u + 2xl + lx^2), x = shorts per long, peaks at x = sqrt(u/l) with value sqrt(u/l)."""
    return alpha**-0.5


def best_order(alpha_inverse: int, max_requests: int) -> tuple[float, int, int]:
    """The best (ratio, longs, shorts) of F1 with one machine, l = 1, u = `alpha_inverse`, at most
    `max_requests` requests: for each m, the ratio is unimodal in k, so a ternary search over k finds it."""
    best = (0.0, 0, 0)
    for m in range(1, max_requests):
        lo, hi = 0, max_requests - m
        while hi - lo > 2:
            a, b = lo + (hi - lo) // 3, hi - (hi - lo) // 3
            if order_two_point_ratio(alpha_inverse, m, a) < order_two_point_ratio(alpha_inverse, m, b):
                lo = a + 1
            else:
                hi = b
        for k in range(lo, hi + 1):
            r = order_two_point_ratio(alpha_inverse, m, k)
            if r > best[0]:
                best = (r, m, k)
    return best


# --- F2: the stagger family (H-SF overlaps short requests, amin cannot) --------------------------------------
@dataclass(frozen=True)
class StaggerFamily:
    """F2: interval [2, u], prompt s >= u - 3, capacity M = 2s + 3; m requests of output u, then k of output 2.

    Two requests fit together only while their ages (tokens held beyond the prompt) sum to at most 3, since
    their memory is 2s + a1 + a2 <= 2s + 3, and three never fit. So a short request (output 2) can start one
    round before the previous one ends, and H-SF finishes one per round; a long one (output u >= 4) runs alone
    after its first round. amin starts a newcomer beside a long request in its second round and evicts it one
    round later (planned length 2 against the long one's 3): the newcomer keeps planned length 2, so nothing
    is learnt and the long requests run one after another in index order. amax plans u and never overlaps two
    requests.
    """

    upper: int
    longs: int
    shorts: int
    extra_prompt: int = 0

    lower = 2

    @property
    def prompt(self) -> int:
        return self.upper - 3 + self.extra_prompt

    @property
    def capacity(self) -> int:
        return 2 * self.prompt + 3

    def shape(self) -> Shape:
        return Shape(2, self.upper, self.prompt, self.capacity, ((self.longs, self.upper), (self.shorts, 2)))

    def valid(self) -> bool:
        return (
            self.upper >= 4
            and self.extra_prompt >= 0
            and min(self.longs, self.shorts) >= 0
            and (self.longs + self.shorts >= 1)
        )

    def amin_total_latency(self) -> int:
        u, m, k = self.upper, self.longs, self.shorts
        return u * m * (m + 1) // 2 + k * m * u + k * (k + 1) // 2 + k

    def amax_total_latency(self) -> int:
        u, m, k = self.upper, self.longs, self.shorts
        return u * m * (m + 1) // 2 + k * m * u + k * (k + 1)

    def hsf_total_latency(self) -> int:
        u, m, k = self.upper, self.longs, self.shorts
        return k * (k + 1) // 2 + k + m * k + u * m * (m + 1) // 2


def stagger_limit(alpha: float) -> float:
    """F2's supremum over n: the F1 ratio with shorts of effective length 1 and longs of length u = 2 / alpha,
    so sqrt(2 / alpha) (the k and +k terms vanish relative to the quadratic ones)."""
    return (2 / alpha) ** 0.5


def best_stagger(upper: int, max_requests: int) -> tuple[float, StaggerFamily | None]:
    """The best F2 instance with at most `max_requests` requests (ternary search over k for each m)."""
    best: tuple[float, StaggerFamily | None] = (0.0, None)

    def ratio(m: int, k: int) -> float:
        f = StaggerFamily(upper, m, k)
        return f.amin_total_latency() / f.hsf_total_latency()

    for m in range(1, max_requests):
        lo, hi = 0, max_requests - m
        while hi - lo > 2:
            a, b = lo + (hi - lo) // 3, hi - (hi - lo) // 3
            if ratio(m, a) < ratio(m, b):
                lo = a + 1
            else:
                hi = b
        for k in range(lo, hi + 1):
            r = ratio(m, k)
            if r > best[0]:
                best = (r, StaggerFamily(upper, m, k))
    return best


# --- F3: the under-packing family (amax plans u, runs one at a time; H-SF packs) ----------------------------
@dataclass(frozen=True)
class UnderpackFamily:
    """F3: prompt 0, interval [1, u], capacity M = u + d; first m = c q "medium" requests of output o
    (2 <= o <= u - d, o divides M, q = M / o), then k = b M requests of output 1. With no mediums (c = 0) d may
    be u - 1; with mediums d <= u - 2.

    amax plans u for each: a second request fits beside a running one of age g only when u + (u - g) <= M,
    i.e. g >= u - d >= o, so amax runs every request alone, in index order. H-SF runs the k short ones M per
    round (b rounds), then the mediums q at a time (q o = M: no room to stagger).
    """

    upper: int
    slack: int
    medium: int
    medium_batches: int
    short_batches: int

    lower = 1
    prompt = 0

    @property
    def capacity(self) -> int:
        return self.upper + self.slack

    @property
    def per_batch(self) -> int:
        return self.capacity // self.medium

    @property
    def mediums(self) -> int:
        return self.medium_batches * self.per_batch

    @property
    def shorts(self) -> int:
        return self.short_batches * self.capacity

    def shape(self) -> Shape:
        blocks = ((self.mediums, self.medium), (self.shorts, 1))
        return Shape(1, self.upper, 0, self.capacity, blocks)

    def valid(self) -> bool:
        u, d, o = self.upper, self.slack, self.medium
        if min(self.medium_batches, self.short_batches) < 0 or self.medium_batches + self.short_batches < 1:
            return False
        if self.medium_batches == 0:
            return 0 <= d <= u - 1 and o >= 1
        return 0 <= d <= u - 2 and 2 <= o <= u - d and self.capacity % o == 0

    def amax_total_latency(self) -> int:
        o, m, k = self.medium, self.mediums, self.shorts
        return o * m * (m + 1) // 2 + k * m * o + k * (k + 1) // 2

    def hsf_total_latency(self) -> int:
        big_m, q, o, c, b = self.capacity, self.per_batch, self.medium, self.medium_batches, self.short_batches
        return big_m * b * (b + 1) // 2 + q * (c * b + o * c * (c + 1) // 2)

    def ratio(self) -> float:
        return self.amax_total_latency() / self.hsf_total_latency()


def underpack_mix(medium: int) -> tuple[float, float]:
    """F3's limit as b, c -> infinity with c / b = r: ratio / M -> h(r) = (r^2/o + 2r + 1) / (r^2 + 2r/o + 1).
    Returns (r*, h(r*)): setting h' = 0 gives (1/o + 1) r^2 + r - 1 = 0 (r* -> golden ratio - 1 as o grows)."""
    a = 1 / medium
    r = (-1 + math.sqrt(1 + 4 * (a + 1))) / (2 * (a + 1))
    return r, (a * r * r + 2 * r + 1) / (r * r + 2 * a * r + 1)


def underpack_limit(upper: int) -> tuple[float, int, int]:
    """F3's supremum over n at u = `upper` (l = 1): max over valid (o, d) of (u + d) h(r*(o)), with d as large
    as o allows (d = the largest value with o | u + d and o <= u - d), and the shorts-only case M = 2u - 1
    (ratio -> M; reported as o = 1). Returns (ratio, o, d). As u -> infinity it tends to 2u (sqrt(5) + 1) / 2,
    about 3.24 / alpha."""
    best = (2.0 * upper - 1, 1, upper - 1)
    for o in range(2, upper + 1):
        d = upper - o
        while d >= 0 and (upper + d) % o:
            d -= 1
        if d < 0 or d > upper - 2:
            continue
        value = (upper + d) * underpack_mix(o)[1]
        if value > best[0]:
            best = (value, o, d)
    return best


def best_underpack(upper: int, max_requests: int) -> tuple[float, UnderpackFamily | None]:
    """The best F3 instance at u = `upper` with at most `max_requests` requests: every valid o (with d as large
    as o allows), every number b of short batches, and the medium batches c near r* b (the ratio is unimodal
    in c, so a window around the limit's proportion, widened for small b, holds the best)."""
    best: tuple[float, UnderpackFamily | None] = (0.0, None)
    shorts_only = UnderpackFamily(upper, upper - 1, 1, 0, max(1, max_requests // (2 * upper - 1)))
    if shorts_only.shorts <= max_requests:
        best = (shorts_only.ratio(), shorts_only)
    for o in range(2, upper + 1):
        d = upper - o
        while d >= 0 and (upper + d) % o:
            d -= 1
        if d < 0 or d > upper - 2:
            continue
        big_m = upper + d
        q = big_m // o
        r_star = underpack_mix(o)[0]
        for b in range(0, max_requests // big_m + 1):
            left = (max_requests - b * big_m) // q
            centre = round(r_star * b) if b else 1
            for c in range(max(0, centre - 8), min(left, centre + 8) + 1):
                if b + c == 0:
                    continue
                fam = UnderpackFamily(upper, d, o, c, b)
                r = fam.ratio()
                if r > best[0]:
                    best = (r, fam)
    return best


# --- the expected ratio under a random admission order (a reading SPEC does not have) ----------------------
def order_random_limit(alpha: float) -> float:
    """F1 (one machine) when the admission order is a uniformly random permutation instead of the index order:
    E[TEL] = (n + 1)/2 * sum o, and against shortest-first the ratio (1 + y)(u + y) / (y^2 + 2y + u), y shorts per
    long (l = 1), peaks at y = sqrt(u) with value (1 + alpha^-1/2) / 2: randomising the order halves the loss."""
    return (1 + alpha**-0.5) / 2


# --- the smallest family instance above a bar -------------------------------------------------------------
def smallest_witness(family: str, alpha_inverse: int, bar: float, max_requests: int = 300) -> Shape | None:
    """The family instance with the fewest requests (then the largest ratio) whose closed-form ratio exceeds
    `bar`: "order" (F1, one machine, l = 1), "stagger" (F2) or "underpack" (F3, amax)."""
    for n in range(1, max_requests + 1):
        best: tuple[float, Shape | None] = (bar, None)
        if family == "underpack":
            got = best_underpack(alpha_inverse, n)
            if got[1] is not None and got[1].shape().requests == n and got[0] > bar:
                return got[1].shape()
            continue
        for m in range(1, n + 1):
            if family == "order":
                r = order_two_point_ratio(alpha_inverse, m, n - m)
                shape = OrderFamily.two_point(1, alpha_inverse, m, n - m).shape() if r > best[0] else None
            elif family == "stagger":
                f = StaggerFamily(2 * alpha_inverse, m, n - m)
                r = f.amin_total_latency() / f.hsf_total_latency() if f.valid() else 0.0
                shape = f.shape() if r > best[0] else None
            else:
                raise ValueError(f"unknown family {family!r}")
            if shape is not None:
                best = (r, shape)
        if best[1] is not None:
            return best[1]
    return None
