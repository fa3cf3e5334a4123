"""hydra-skopt-sweeper: Gaussian-process Bayesian optimisation for Hydra apps (scikit-optimize).

Inside a trial, ``report(step, value)`` records its learning curve in the sweep dir and raises
``TrialPruned`` when the sweep's pruning rule stops it (see :mod:`.trial.pruning`).
"""
from .trial.pruning import TrialPruned, report

__version__ = "0.1.0"
__all__ = ["TrialPruned", "report"]
