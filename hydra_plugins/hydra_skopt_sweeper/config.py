"""Registers the sweeper's config schema with Hydra as ``hydra/sweeper=skopt_gp``.

The schema itself (fields, closed choices, defaults) is :mod:`hydra_skopt_sweeper.settings`;
its names are re-exported here for code that reads them from the plugin.
"""
from hydra.core.config_store import ConfigStore

from hydra_skopt_sweeper.settings import (
    AcqFunc,
    AcqOptimizer,
    BaseEstimator,
    BatchStrategy,
    InitialPointGenerator,
    OnFailure,
    PrunerConf,
    PrunerRule,
    Scheduling,
    SkoptSweeperConf,
)

__all__ = ["AcqFunc", "AcqOptimizer", "BaseEstimator", "BatchStrategy", "InitialPointGenerator", "OnFailure",
           "PrunerConf", "PrunerRule", "Scheduling", "SkoptSweeperConf"]

ConfigStore.instance().store(
    group="hydra/sweeper",
    name="skopt_gp",
    node=SkoptSweeperConf,
    provider="hydra_skopt_sweeper",
)
