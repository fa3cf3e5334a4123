"""Hydra's entry to hydra-skopt-sweeper: the config schema and the Sweeper shim.

Hydra's plugin scanner imports every module of this package at each app start, so only the
two light modules live here; the optimiser and its imports (skopt, scikit-learn) are in the
``hydra_skopt_sweeper`` package and are imported when a sweep starts.
"""
