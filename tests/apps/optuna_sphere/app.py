"""An app of the Optuna sweeper's own example's shape (its example/sphere.py and conf/): its
config keeps the `override hydra/sweeper/sampler: ...` line, with the sweeper name changed."""
import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def sphere(cfg: DictConfig) -> float:
    if cfg.get("error", False):
        raise RuntimeError("cfg.error is True")
    return cfg.x**2 + cfg.y**2


if __name__ == "__main__":
    sphere()
