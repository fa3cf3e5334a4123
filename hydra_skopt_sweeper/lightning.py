"""The Lightning callback's public path, ``hydra_skopt_sweeper.lightning.PruningCallback``
(the ``_target_`` a trainer config names); it lives in :mod:`.trial.lightning`."""
from .trial.lightning import PruningCallback

__all__ = ["PruningCallback"]
