"""hydra-skopt-sweeper: Gaussian-process Bayesian optimisation for Hydra apps (scikit-optimize).

Inside a trial, ``report(step, value)`` records its learning curve in the sweep dir and raises
``TrialPruned`` when the sweep's pruning rule stops it, and ``resume_checkpoint()`` lets the
sweep pause a stopped trial and continue it later (see :mod:`.trial.pruning`).
``gp_minimize`` and ``Optimizer`` are scikit-optimize's, on this project's engine
(:mod:`.doors.scikit_optimize`); ``TorchOptimizer`` tunes a LightningModule from a script or a
notebook (:mod:`.doors.torch_optimizer`). They are imported on first use, so that a trial's
process, which imports ``report``, does not load the engine.
"""
from typing import Any

from .trial.pruning import TrialPruned, report, resume_checkpoint

__version__ = "0.1.0"
__all__ = ["Optimizer", "TorchOptimizer", "TrialPruned", "gp_minimize", "report", "resume_checkpoint"]


def __getattr__(name: str) -> Any:
    if name in ("gp_minimize", "Optimizer"):
        from .doors import scikit_optimize

        return getattr(scikit_optimize, name)
    if name == "TorchOptimizer":
        from .doors.torch_optimizer import TorchOptimizer

        return TorchOptimizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
