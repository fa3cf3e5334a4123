"""A Hydra app of lightning-hydra-template's shape (src/train.py), without the training.

``train(cfg)`` returns ``(metric_dict, object_dict)``; ``main`` returns the metric named by
``cfg.optimized_metric``, which the template's ``hparams_search`` files set, as its
``get_metric_value`` does. The metric is a smooth function of the template's search space, so a
sweep of it takes seconds; the Lightning example covers real training.
"""
import math
from typing import Any, Dict, Optional, Tuple

import hydra
from omegaconf import DictConfig


def train(cfg: DictConfig) -> Tuple[Dict[str, float], Dict[str, Any]]:
    if cfg.get("fail"):
        raise RuntimeError("the datamodule could not be set up")
    lr_term = (math.log10(cfg.model.optimizer.lr) + 2.3) ** 2  # best near lr = 0.005
    size_term = sum(abs(math.log2(cfg.model.net[k]) - 7) for k in ("lin1_size", "lin2_size", "lin3_size"))
    batch_term = abs(math.log2(cfg.data.batch_size) - 6)
    acc = 0.99 - 0.05 * lr_term - 0.01 * size_term - 0.005 * batch_term
    return {"val/acc_best": acc, "val/loss": 1.0 - acc}, {"cfg": cfg}


def get_metric_value(metric_dict: Dict[str, float], metric_name: Optional[str]) -> Optional[float]:
    if not metric_name:
        return None
    if metric_name not in metric_dict:
        raise Exception(f"Metric value not found! <metric_name={metric_name}>")
    return metric_dict[metric_name]


@hydra.main(version_base="1.3", config_path="configs", config_name="train.yaml")
def main(cfg: DictConfig) -> Optional[float]:
    metric_dict, _ = train(cfg)
    return get_metric_value(metric_dict, cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
