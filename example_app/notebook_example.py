"""The seed's call, as a notebook would make it: a LightningModule and loaders defined right
here (in ``__main__``), tuned by ``TorchOptimizer`` on the digits data the example app uses.

    .venv/bin/python example_app/notebook_example.py            # 20 trials, 2 at a time
    .venv/bin/python example_app/notebook_example.py --tiny     # 4 trials of 2 epochs (the tests)

Every trial trains in a worker process; TensorBoard shows them side by side
(``tensorboard --logdir multirun/notebook_logs``); the sweep's files, pictures and
``report.html`` are in ``multirun/MyModel``. Ctrl-C stops the sweep with the finished trials
kept; the same command resumes it.
"""
import sys

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import TensorBoardLogger
from skopt.space import Integer, Real

from hydra_skopt_sweeper import TorchOptimizer

sys.path.insert(0, __file__.rsplit("/", 2)[0])  # the repository root, for example_app.data
from example_app.data import DigitsDataModule  # noqa: E402


class MyModel(pl.LightningModule):
    """One hidden layer of ``hidden_size`` units, trained with Adam at ``lr``."""

    def __init__(self, lr: float, hidden_size: int) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(64, hidden_size), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden_size, 10))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def main(tiny: bool) -> None:
    data = DigitsDataModule(batch_size=64)
    data.setup()
    train_loader, val_loader = data.train_dataloader(), data.val_dataloader()

    optimizer = TorchOptimizer(
        model=MyModel,
        trainer_args={"max_epochs": 2 if tiny else 20, "accelerator": "cpu", "enable_model_summary": False,
                      "log_every_n_steps": 10,
                      "logger": TensorBoardLogger(save_dir="multirun/notebook_logs"),
                      "callbacks": [ModelCheckpoint(monitor="val_loss")]},
        train_loader=train_loader, val_loader=val_loader,
        monitor="val_loss", maximise=False,
        space=[Real(1e-4, 1e-2, "log-uniform", name="lr"), Integer(32, 256, name="hidden_size")],
        constraint=lambda params: params["hidden_size"] % 32 == 0,
        n_calls=4 if tiny else 20, n_initial_points=2 if tiny else 6,
        n_jobs=2,
    )
    best_params = optimizer()
    print("Best params:", best_params)
    print("Best val_loss:", optimizer.best_value)
    print("Every trial:", len(optimizer.trials), "| the page:", optimizer.report_path)


if __name__ == "__main__":
    main(tiny="--tiny" in sys.argv[1:])
