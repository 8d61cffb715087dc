"""The test suite: fast tiers run in CI; `-m deep` runs the long searches and large proof boxes."""
