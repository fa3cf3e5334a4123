"""A notebook-like script for TorchOptimizer's tests: a LightningModule and loaders defined in
``__main__``, the optimizer's arguments from the JSON in argv[1] (plus ``sleep_s`` per training
step, ``log`` the metrics validation logs, ``datamodule`` to give one instead of the loaders,
``constraint_mod`` for a Python constraint hidden_size % k == 0). Prints ``RESULT <json>``."""
import json
import sys
import time

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from hydra_skopt_sweeper import TorchOptimizer

options = json.loads(sys.argv[1])
SLEEP_S = options.pop("sleep_s", 0.0)
LOGGED = options.pop("log", ["val_loss", "val_size"])


class Model(pl.LightningModule):
    def __init__(self, lr: float, hidden_size: int = 8) -> None:
        super().__init__()
        self.lr = lr
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden_size), torch.nn.ReLU(), torch.nn.Linear(hidden_size, 1))

    def training_step(self, batch, batch_idx):
        time.sleep(SLEEP_S)
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        values = {"val_loss": torch.nn.functional.mse_loss(self.net(x), y),
                  "val_size": torch.tensor(float(sum(p.numel() for p in self.parameters())))}
        for name in LOGGED:
            self.log(name, values[name])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


class Data(pl.LightningDataModule):
    def train_dataloader(self):
        return loader()

    def val_dataloader(self):
        return loader()


def loader():
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=32)


if options.pop("datamodule", False):
    options["datamodule"] = Data()
else:
    options.update(train_loader=loader(), val_loader=loader())
if "constraint_mod" in options:
    k = options.pop("constraint_mod")
    options["constraint"] = lambda params: params["hidden_size"] % k == 0
trainer_args = {"max_epochs": 2, "accelerator": "cpu", "enable_model_summary": False, "log_every_n_steps": 1,
                **options.pop("trainer_args", {})}
optimizer = TorchOptimizer(model=Model, trainer_args=trainer_args, **options)
best = optimizer()
print("RESULT " + json.dumps({"best": best, "result": optimizer.result, "report": str(optimizer.report_path),
                              "n_trials": len(optimizer.trials), "front": [t.number for t in optimizer.front]},
                             default=str))
