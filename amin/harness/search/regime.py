"""The regime map (issue 12, item 4): the worst ratio found at fixed alpha in each cell of prompt ratio s/u,
parallelism M/(s+u) and load n(s+u)/M, to show where the competitive-ratio claims could still hold.

Each cell fixes s, M and n and lets a local search choose the outputs, their proportions and their order
(from two-point, under-packing and random starts). Cells are independent tasks (`adversary.map_tasks`).
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

from amin.harness.search.adversary import Evaluator, local_search, shape_record
from amin.harness.search.families import Shape

PROMPT_RATIOS = (0.0, 0.125, 0.5, 1.0, 2.0, 8.0)
PARALLELISMS = (1.0, 1.5, 2.0, 4.0, 16.0)
LOADS = (2.0, 16.0, 128.0)


def cell_geometry(
    alpha_inverse: int, prompt_ratio: float, parallelism: float, load: float, lower: int = 1
) -> tuple[int, int, int, int]:
    """(u, s, M, n) of a cell: u = l / alpha, s = round(s/u * u), M = round(M/(s+u) * (s + u)), and
    n = round(load * M / (s + u)) requests (at least 2)."""
    upper = lower * alpha_inverse
    prompt = round(prompt_ratio * upper)
    capacity = max(prompt + upper, round(parallelism * (prompt + upper)))
    n = max(2, round(load * capacity / (prompt + upper)))
    return upper, prompt, capacity, n


def renormalise(shape: Shape, n: int, prompt: int, capacity: int) -> Shape | None:
    """The same outputs and proportions with exactly n requests (largest remainders) and the cell's s and M."""
    total = shape.requests
    raw = [c * n / total for c, _ in shape.blocks]
    counts = [math.floor(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])[: n - sum(counts)]:
        counts[i] += 1
    out = Shape(
        shape.lower,
        shape.upper,
        prompt,
        capacity,
        tuple((c, o) for c, (_, o) in zip(counts, shape.blocks, strict=True) if c > 0),
    )
    return out if out.valid() else None


def starts(lower: int, upper: int, prompt: int, capacity: int, n: int, rng: random.Random) -> list[Shape]:
    """Long-first two-point shapes (the order families), medium-first under-packing shapes, and random ones."""
    out = []
    for frac in (0.05, 0.15, 0.4):
        m = max(1, round(frac * n))
        out.append(Shape(lower, upper, prompt, capacity, ((m, upper), (n - m, lower))))
    mid = max(lower, upper // 8)
    out.append(Shape(lower, upper, prompt, capacity, ((max(1, n // 4), mid), (n - max(1, n // 4), lower))))
    for _ in range(2):
        k = rng.randint(2, 4)
        blocks = [(rng.randint(1, 8), rng.choice((lower, upper, rng.randint(lower, upper)))) for _ in range(k)]
        out.append(Shape(lower, upper, prompt, capacity, tuple(blocks)))
    return [s for s in (renormalise(x, n, prompt, capacity) for x in out) if s is not None]


def search_cell(params: dict[str, Any]) -> dict[str, Any]:
    """One cell: params has target, alpha_inverse, prompt_ratio, parallelism, load, cost (work units per
    request of the cell, so that large cells get as many evaluations as small ones), seed."""
    target, a_inv = params["target"], params["alpha_inverse"]
    upper, prompt, capacity, n = cell_geometry(a_inv, params["prompt_ratio"], params["parallelism"], params["load"])
    rng = random.Random(
        f"cell-{target}-{a_inv}-{params['prompt_ratio']}-{params['parallelism']}-{params['load']}-{params['seed']}"
    )
    evaluate = Evaluator(target, tuple(range(params.get("seeds", 3))))

    def fixed(s: Shape) -> bool:
        return s.prompt == prompt and s.capacity == capacity and s.requests == n

    best: tuple[Shape | None, float] = (None, 0.0)
    seeds = starts(1, upper, prompt, capacity, n, rng)
    for s in seeds:
        v = evaluate(s)
        if v > best[1]:
            best = (s, v)
    assert best[0] is not None

    # Moves that change s, M or n are mapped back into the cell by renormalising the counts.
    def project(s: Shape) -> Shape | None:
        return renormalise(replace(s, prompt=prompt, capacity=capacity), n, prompt, capacity)

    for start in sorted(seeds, key=evaluate, reverse=True)[:2]:
        shape, v = local_search(
            start,
            evaluate,
            rng,
            cost=params["cost"] * n // 2,
            max_requests=4 * n,
            max_prompt=max(prompt, 1),
            project=project,
        )
        if fixed(shape) and v > best[1]:
            best = (shape, v)
    shape, value = best
    assert shape is not None
    return {
        "kind": "cell",
        "target": target,
        "alpha_inverse": a_inv,
        "prompt_ratio": params["prompt_ratio"],
        "parallelism": params["parallelism"],
        "load": params["load"],
        "value": value,
        "shape": shape_record(shape),
        "evaluations": evaluate.evaluations,
        "work_units": evaluate.work,
    }


def cell_tasks(alpha_inverses: tuple[int, ...], targets: tuple[str, ...], cost: int, seed: int) -> list[dict]:
    return [
        {
            "kind": "cell",
            "target": t,
            "alpha_inverse": a,
            "prompt_ratio": sr,
            "parallelism": par,
            "load": ld,
            "cost": cost,
            "seed": seed,
        }
        for t in targets
        for a in alpha_inverses
        for sr in PROMPT_RATIOS
        for par in PARALLELISMS
        for ld in LOADS
    ]
