"""Adversarial search for the papers' claims: strategies, ratios, targeted search, corpus, curves, Monte Carlo, and
the adversary at scale (families with closed forms, the amax upper bound, the regime map) for C7 and C8.

The harness layer: it imports Hypothesis (never imported by `amin` itself) and may import `optimal`.
"""
