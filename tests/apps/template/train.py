"""A Hydra + Lightning app of lightning-hydra-template's shape (its src/train.py), tiny.

``train(cfg)`` fits a LightningModule (an MLP of the template's lin1/lin2/lin3 sizes) on
scikit-learn's digits for ``trainer.max_epochs`` and returns ``(metric_dict, object_dict)``;
``main`` returns the metric named by ``cfg.optimized_metric``, which the template's
``hparams_search`` files set, as its ``get_metric_value`` does. Like the template's
MNISTLitModule it logs ``val/acc`` and ``val/acc_best``.
"""
from typing import Any, Dict, Optional, Tuple

import hydra
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class DigitsDataModule(pl.LightningDataModule):
    def __init__(self, batch_size: int, fail: bool = False) -> None:
        super().__init__()
        self.batch_size, self.fail = batch_size, fail

    def setup(self, stage: Optional[str] = None) -> None:
        if self.fail:
            raise RuntimeError("the datamodule could not be set up")
        x, y = load_digits(return_X_y=True)
        x = torch.tensor(x / 16.0, dtype=torch.float32)
        y = torch.tensor(y)
        self.train, self.val = TensorDataset(x[:1400], y[:1400]), TensorDataset(x[1400:], y[1400:])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=256)


class LitModule(pl.LightningModule):
    def __init__(self, lr: float, lin1_size: int, lin2_size: int, lin3_size: int) -> None:
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(nn.Linear(64, lin1_size), nn.ReLU(), nn.Linear(lin1_size, lin2_size), nn.ReLU(),
                                 nn.Linear(lin2_size, lin3_size), nn.ReLU(), nn.Linear(lin3_size, 10))
        self.best = 0.0

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.cross_entropy(self.net(x), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self.net(x)
        self.log("val/loss", nn.functional.cross_entropy(logits, y))
        self.log("val/acc", (logits.argmax(-1) == y).float().mean())

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self.best = max(self.best, float(self.trainer.callback_metrics["val/acc"]))
            self.log("val/acc_best", self.best)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def train(cfg: DictConfig) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = DigitsDataModule(cfg.data.batch_size, fail=cfg.get("fail", False))
    model = LitModule(cfg.model.optimizer.lr, **cfg.model.net)
    trainer = pl.Trainer(max_epochs=cfg.trainer.max_epochs, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", devices=1,
                         default_root_dir=cfg.paths.output_dir)
    trainer.fit(model, datamodule=datamodule)
    return dict(trainer.callback_metrics), {"model": model, "trainer": trainer}


def get_metric_value(metric_dict: Dict[str, Any], metric_name: Optional[str]) -> Optional[float]:
    if not metric_name:
        return None
    if metric_name not in metric_dict:
        raise Exception(f"Metric value not found! <metric_name={metric_name}>")
    return metric_dict[metric_name].item()


@hydra.main(version_base="1.3", config_path="configs", config_name="train.yaml")
def main(cfg: DictConfig) -> Optional[float]:
    metric_dict, _ = train(cfg)
    return get_metric_value(metric_dict, cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
