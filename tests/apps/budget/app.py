"""A model-shaped app under a size budget: it returns a mapping of metrics (as Lightning's
callback_metrics), its loss falls as the model grows, and its size is a metric known only
after the run, for hydra.sweeper.metric_constraints."""
from typing import Dict

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def train(cfg: DictConfig) -> Dict[str, float]:
    width, lr = int(cfg.width), float(cfg.lr)
    n_params = width * width * 10
    val_loss = 1.0 / width + (lr - 0.1) ** 2
    return {"val_loss": val_loss, "n_params": n_params}


if __name__ == "__main__":
    train()
