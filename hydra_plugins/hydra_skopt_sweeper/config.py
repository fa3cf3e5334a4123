"""Registers the sweeper's config schema with Hydra as ``hydra/sweeper=skopt_gp``.

The schema itself (fields, closed choices, defaults) is :mod:`hydra_skopt_sweeper.settings`;
its names are re-exported here for code that reads them from the plugin.
"""
from hydra.core.config_store import ConfigStore

from hydra_skopt_sweeper.doors.optuna import SAMPLERS
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

# the Optuna sweeper's sampler options, so that a config written for it (with its
# `override hydra/sweeper/sampler: tpe` line) composes here; the Optuna sweeper's own
# registrations, where it is installed, stay its own
_registered = ConfigStore.instance().repo.get("hydra", {}).get("sweeper", {}).get("sampler", {})
for _name, _sampler in SAMPLERS.items():
    if f"{_name}.yaml" not in _registered:
        ConfigStore.instance().store(group="hydra/sweeper/sampler", name=_name,
                                     node={"_target_": f"optuna.samplers.{_sampler}", "seed": None},
                                     provider="hydra_skopt_sweeper")
