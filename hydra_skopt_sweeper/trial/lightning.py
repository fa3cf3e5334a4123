"""``PruningCallback``: a Lightning callback that reports each validation to the sweep and stops
the trainer when the sweep's pruning rule says so.

The one module of the package that touches Lightning; nothing else imports it. It works with
``pytorch_lightning`` and with ``lightning.pytorch`` alike: the callback derives from the
``Callback`` class of whichever of the two the app has imported (both, if it imported both), so
the Trainer accepts it, and it never imports the other one (importing ``lightning`` under Hydra
adds a second console handler to Lightning's loggers).
"""
from __future__ import annotations

import logging
import sys
from typing import Any, Dict, Tuple, Type

from .pruning import TrialPruned, pause_checkpoint, report

log = logging.getLogger(__name__)

_PACKAGES = ("pytorch_lightning", "lightning.pytorch")
_classes: Dict[Tuple[type, ...], Type[Any]] = {}


def PruningCallback(monitor: str = "val_loss", mode: str = "min") -> Any:
    """A callback that reports ``trainer.callback_metrics[monitor]`` at every validation end
    (never the sanity check) as step ``trainer.current_epoch``.

    When the sweep's rule prunes the trial it sets ``trainer.should_stop``: the epoch ends as
    usual, checkpoints and loggers close, ``fit`` returns, and the app returns its best value so
    far, with which the trial is recorded as pruned. When the app passes
    ``ckpt_path=resume_checkpoint()`` to ``trainer.fit`` and the sweep pauses trials (the rule
    ``forecast`` with ``p_resume`` set), it first
    saves the trainer's whole state (``paused.ckpt`` in the job dir), from which the sweep may
    continue the trial later. Under DDP only global rank 0 reports, and
    its decision is broadcast to every rank (not tested here: these machines have no GPUs).

    Parameters
    ----------
    monitor : str
        The logged metric to report (the one the sweep optimises).
    mode : str
        ``min`` or ``max``: whether smaller or larger is better for ``monitor``; the rule keeps
        what the sweep's own direction (``hydra.sweeper.maximize``) says is better.
    """
    if mode not in ("min", "max"):
        raise ValueError(f"PruningCallback(mode={mode!r}): must be 'min' or 'max'")
    bases = _callback_bases()
    if bases not in _classes:
        body = {k: v for k, v in vars(_Pruning).items() if k not in ("__dict__", "__weakref__")}
        _classes[bases] = type("PruningCallback", bases, body)
    return _classes[bases](monitor, mode)


def _callback_bases() -> Tuple[type, ...]:
    """The ``Callback`` classes of the Lightning packages the app imported (pytorch_lightning
    first when it imported neither yet)."""
    bases = tuple(sys.modules[name].Callback for name in _PACKAGES if name in sys.modules
                  and hasattr(sys.modules[name], "Callback"))
    if bases:
        return bases
    for name in _PACKAGES:
        try:
            module = __import__(name, fromlist=["Callback"])
        except ImportError:
            continue
        return (module.Callback,)
    raise ImportError("PruningCallback needs pytorch_lightning or lightning: pip install pytorch-lightning")


class _Pruning:
    """The callback's body; :func:`PruningCallback` puts it on the right ``Callback`` base."""

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor = monitor
        self.mode = mode
        self.pruned_at = None
        self.pause_to = None  # where to save the trainer's state at this epoch's end (pausing)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        pruned = False
        if trainer.global_rank == 0:
            value = trainer.callback_metrics.get(self.monitor)
            if value is None:
                log.warning("PruningCallback: %r is not among the logged metrics (%s); nothing "
                            "reported at epoch %d", self.monitor,
                            ", ".join(sorted(trainer.callback_metrics)) or "none", trainer.current_epoch)
            else:
                try:
                    report(int(trainer.current_epoch), float(value))
                except TrialPruned as stop:
                    log.info("%s; stopping after this epoch", stop)
                    pruned = True
        if trainer.world_size > 1:
            pruned = bool(trainer.strategy.broadcast(pruned, src=0))
        if pruned:
            self.pruned_at = int(trainer.current_epoch)
            trainer.should_stop = True
            self.pause_to = pause_checkpoint()

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        # saved once the epoch is whole (its validation ran inside it): a resume starts the next one
        if self.pause_to is not None:
            trainer.save_checkpoint(self.pause_to)  # every rank calls it; Lightning writes it once
            self.pause_to = None
