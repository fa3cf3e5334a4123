"""A model-shaped app under a size budget: it returns a mapping of metrics (as Lightning's
callback_metrics), its loss falls as the model grows, and its size is a metric known only
after the run, for hydra.sweeper.metric_constraints.

``latency_ms`` grows with the model: a second objective that trades against ``val_loss``.
``drop_n_params_above``: trials wider than it return no ``n_params`` (a missing metric).
"""
from typing import Dict

import hydra
from omegaconf import DictConfig


def metrics(width: int, lr: float) -> Dict[str, float]:
    return {"val_loss": 1.0 / width + (lr - 0.1) ** 2, "n_params": width * width * 10,
            "latency_ms": 0.5 * width + 10 * lr}


@hydra.main(version_base=None, config_path="conf", config_name="config")
def train(cfg: DictConfig) -> Dict[str, float]:
    measured = metrics(int(cfg.width), float(cfg.lr))
    if cfg.drop_n_params_above is not None and cfg.width > cfg.drop_n_params_above:
        del measured["n_params"]
    return measured


if __name__ == "__main__":
    train()
