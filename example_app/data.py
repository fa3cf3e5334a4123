"""The data: scikit-learn's handwritten digits (8x8 images, 10 classes, 1797 samples).

It ships with scikit-learn, so it loads offline in milliseconds: no download, nothing written.
"""
from __future__ import annotations

from typing import Optional

import pytorch_lightning as pl
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, TensorDataset


class DigitsDataModule(pl.LightningDataModule):
    """Digits as flat 64-feature vectors, standardised with statistics of the training part only,
    split into train and validation once, stratified, with ``seed``: every trial of a sweep sees
    the same split, so their validation metrics compare.
    """

    n_features = 64
    n_classes = 10

    def __init__(
        self,
        batch_size: int = 64,
        val_fraction: float = 0.2,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
        # batch_size (a tuned hyperparameter) and the split reach the logger's hparams too
        self.save_hyperparameters()
        self.train_set: Optional[TensorDataset] = None
        self.val_set: Optional[TensorDataset] = None

    def setup(self, stage: Optional[str] = None) -> None:
        if self.train_set is not None:
            return
        x, y = load_digits(return_X_y=True)
        x_train, x_val, y_train, y_val = train_test_split(
            x, y, test_size=self.hparams.val_fraction, random_state=self.hparams.seed, stratify=y
        )
        scaler = StandardScaler().fit(x_train)
        self.train_set = _tensors(scaler.transform(x_train), y_train)
        self.val_set = _tensors(scaler.transform(x_val), y_val)

    def train_dataloader(self) -> DataLoader:
        # a generator of its own: the shuffling order depends on the seed only
        generator = torch.Generator().manual_seed(self.hparams.seed)
        return self._loader(self.train_set, shuffle=True, generator=generator)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    def _loader(self, dataset: Optional[TensorDataset], **kwargs) -> DataLoader:
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        workers = self.hparams.num_workers
        return DataLoader(
            dataset,
            batch_size=self.hparams.batch_size,
            num_workers=workers,
            persistent_workers=workers > 0,
            **kwargs,
        )


def _tensors(x, y) -> TensorDataset:
    return TensorDataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long))
