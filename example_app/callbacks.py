"""A callback that puts a trial's hyperparameters and its best metric in TensorBoard's HParams
tab, so that ``tensorboard --logdir <sweep dir>`` compares the trials of a sweep."""
from __future__ import annotations

from typing import Any, Dict

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger

from example_app.runtime import best_metric


class HParamsMetric(pl.Callback):
    """At the end of fit, log the model's and the data module's hyperparameters (what
    ``save_hyperparameters()`` stored) with ``hp/best_<monitor>``.

    Runs in ``on_fit_end``, before Lightning closes its loggers. Use the TensorBoard logger with
    ``default_hp_metric: false`` so that this is the only hparams record of a run.
    """

    def __init__(self, monitor: str = "val_loss") -> None:
        self.monitor = monitor

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = best_metric(trainer, self.monitor)
        if value is None:
            return
        params: Dict[str, Any] = dict(pl_module.hparams)
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is not None:
            params.update(datamodule.hparams)
        metrics = {f"hp/best_{self.monitor}": value, "hp/epochs": float(trainer.current_epoch)}
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.log_hyperparams(params, metrics=metrics)
            else:
                logger.log_hyperparams(params)
                logger.log_metrics(metrics)
