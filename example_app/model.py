"""The model: a multilayer perceptron classifier as a LightningModule."""
from __future__ import annotations

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn


OPTIMIZERS = ("adamw", "sgd")


class MLPClassifier(pl.LightningModule):
    """``n_layers`` hidden layers of ``hidden_size`` units (Linear, ReLU, Dropout), then a
    linear layer to the class logits. Trained with cross-entropy and ``optimizer``: ``adamw``
    or ``sgd`` (with ``momentum``; the app's optimizer config group sets both).

    Logs ``train_loss`` per epoch and ``val_loss``, ``val_acc``, ``n_params`` (its parameter
    count, a size to trade against the loss) per validation epoch: those are the names
    ``monitor`` can take in the app's config.
    """

    def __init__(
        self,
        input_dim: int = 64,
        num_classes: int = 10,
        hidden_size: int = 128,
        n_layers: int = 2,
        dropout: float = 0.1,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        optimizer: str = "adamw",
        momentum: float = 0.9,
    ) -> None:
        super().__init__()
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
        if n_layers < 0:
            raise ValueError(f"n_layers must be >= 0, got {n_layers}")
        if hidden_size < 1:
            raise ValueError(f"hidden_size must be >= 1, got {hidden_size}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        # every constructor argument lands in self.hparams, in the checkpoint and in the
        # logger's hparams (so TensorBoard can compare the trials of a sweep)
        self.save_hyperparameters()

        layers: list[nn.Module] = []
        width = input_dim
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden_size), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_size
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    @property
    def n_params(self) -> int:
        """How many numbers the model learns (weights and biases)."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _shared_step(self, batch: tuple[torch.Tensor, torch.Tensor]):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(dim=-1) == y).float().mean()
        return loss, acc

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss, _ = self._shared_step(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        loss, acc = self._shared_step(batch)
        self.log_dict({"val_loss": loss, "val_acc": acc}, on_step=False, on_epoch=True, prog_bar=True)

    def on_validation_epoch_end(self) -> None:
        self.log("n_params", float(self.n_params))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        hp = self.hparams
        if hp.optimizer == "sgd":
            return torch.optim.SGD(self.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay)
        return torch.optim.AdamW(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
