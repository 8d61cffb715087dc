"""Adversarial search for the papers' claims: strategies, ratios, targeted search, corpus, curves, Monte Carlo.

The harness layer: it imports Hypothesis (never imported by `amin` itself) and may import `optimal`.
"""
