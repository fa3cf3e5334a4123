"""The Sweeper Hydra instantiates for ``hydra/sweeper=skopt_gp``: a shim over
:mod:`hydra_skopt_sweeper.doors.hydra`, imported only when Hydra instantiates the sweeper (the
plugin scanner imports this module at every app start, and skopt is slow to import).
"""
import logging
from typing import Any, List, Optional, Sequence

from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class SkoptSweeper(Sweeper):
    """Gaussian-process Bayesian optimisation over Hydra overrides (scikit-optimize)."""

    def __init__(self, params: Optional[Any] = None, **settings: Any) -> None:
        from hydra_skopt_sweeper.doors.hydra import read_settings

        self.params = params or {}
        self.settings, self.optuna_keys = read_settings(settings)
        self.config: Optional[DictConfig] = None
        self.hydra_context: Optional[HydraContext] = None
        self.launcher: Optional[Launcher] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra_skopt_sweeper.problem.objectives import Objectives
        from hydra_skopt_sweeper.trial.task import TimedTask

        self.config = config
        self.hydra_context = hydra_context
        self.task = TimedTask(task_function, objectives=Objectives.of_settings(self.settings)[0])
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=self.task, config=config
        )

    def sweep(self, arguments: List[str]) -> List[Sequence[JobReturn]]:
        assert self.config is not None and self.launcher is not None and self.hydra_context is not None
        from hydra_skopt_sweeper.doors.hydra import run_sweep

        if self.optuna_keys:
            log.info("Optuna sweeper keys: %s", self.optuna_keys)
        return run_sweep(self.settings, self.params, arguments, self.config, self.hydra_context,
                         self.launcher, self.task, self.validate_batch_is_legal)
