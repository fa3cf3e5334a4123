"""Train an MLP on scikit-learn's digits with PyTorch Lightning; return the best validation
value of ``monitor``. This is the task function a Hydra sweeper tunes.

    python example_app/train.py                          # one run, prints the val metric
    python example_app/train.py model.lr=0.003 trainer.max_epochs=30
    python example_app/train.py -m experiment=tune_mlp     # Bayesian optimisation, 20 trials
    python example_app/train.py -m experiment=tune_mlp_acc # the same, maximising val_acc
    python example_app/train.py -m experiment=tune_mlp_size # val_loss against the model's size
    tensorboard --logdir multirun                         # compare the trials (HParams tab)

Every run writes into its own Hydra job dir: TensorBoard events under ``tb/``, the best
checkpoint under ``checkpoints/``, the composed config under ``.hydra/``.
"""
import logging
import os
import sys
import time
from pathlib import Path
from typing import Dict, Union

if __package__ in (None, ""):
    # Run as a script (python example_app/train.py): Python put example_app/ itself on
    # sys.path. Put the repository root there instead, so that `example_app` imports as a
    # package here, in Hydra's instantiate (the _target_s in conf/) and in launcher workers.
    _app_dir = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _app_dir]
    sys.path.insert(0, str(_app_dir.parent))

import hydra  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from hydra_skopt_sweeper import resume_checkpoint  # noqa: E402

from example_app.runtime import (  # noqa: E402
    best_metric,
    describe_overrides,
    instantiate_named,
    is_finite,
    parallel_jobs,
    quiet_lightning,
    returned_metrics,
    threads_per_trial,
)

log = logging.getLogger(__name__)


@hydra.main(version_base=None, config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> Union[float, Dict[str, float]]:
    return train(cfg)


def train(cfg: DictConfig) -> Union[float, Dict[str, float]]:
    """Fit the model the config describes; return the best ``cfg.monitor`` over its epochs
    (NaN when the metric was never logged, which a sweeper counts as a failed trial), or, with
    ``cfg.return_metrics``, the mapping of every metric with ``cfg.monitor`` at its best."""
    quiet_lightning()
    hydra_cfg = HydraConfig.get()
    threads = threads_per_trial(cfg.get("torch_threads"), parallel_jobs(hydra_cfg))
    torch.set_num_threads(threads)
    pl.seed_everything(cfg.seed, workers=True)

    datamodule: pl.LightningDataModule = instantiate(cfg.data)
    model: pl.LightningModule = instantiate(
        cfg.model, input_dim=datamodule.n_features, num_classes=datamodule.n_classes
    )
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        callbacks=instantiate_named(cfg.get("callbacks")),
        logger=instantiate_named(cfg.get("logger")) or False,
    )

    start = time.perf_counter()
    # None for a new trial; a paused trial's checkpoint when the sweep continues it (the
    # forecast pruning rule pauses a trial instead of ending it once the app passes this)
    trainer.fit(model, datamodule=datamodule, ckpt_path=resume_checkpoint())
    seconds = time.perf_counter() - start

    value = best_metric(trainer, cfg.monitor)
    _report(cfg, hydra_cfg, trainer, value, seconds, threads, model.n_params)
    if cfg.get("return_metrics"):
        return returned_metrics(trainer, cfg.monitor)
    return value if value is not None else float("nan")


def _report(cfg, hydra_cfg, trainer: pl.Trainer, value, seconds: float, threads: int, n_params: int) -> None:
    """One log line per trial: its overrides, its result, where its TensorBoard logs are."""
    result = f"{cfg.monitor}={value:.4f}" if is_finite(value) else f"{cfg.monitor}={value} (failed)"
    if cfg.get("return_metrics"):
        result += f", n_params={n_params}"
    where = ", ".join(_rel(lg.log_dir) for lg in trainer.loggers if getattr(lg, "log_dir", None))
    summary = (
        f"{result} (best of {trainer.current_epoch} epochs, {seconds:.1f} s, "
        f"{threads} thread{'s' if threads != 1 else ''})"
    )
    if hydra_cfg.mode == RunMode.MULTIRUN:
        swept = OmegaConf.select(hydra_cfg, "sweeper.params", default=None)
        swept_keys = list(swept.keys()) if isinstance(swept, DictConfig) else None
        params = describe_overrides(list(hydra_cfg.overrides.task), swept_keys) or "(no overrides)"
        log.info(f"trial {hydra_cfg.job.num}: {summary} | {params} | logs: {where}")
        if hydra_cfg.job.num == 0:
            log.info(f"compare the trials: tensorboard --logdir {_rel(hydra_cfg.sweep.dir)}")
    else:
        log.info(summary)
        if where:
            log.info(f"TensorBoard logs: tensorboard --logdir {where}")


def _rel(path) -> str:
    """A path relative to the working directory when it is under it (shorter log lines)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


if __name__ == "__main__":
    main()
