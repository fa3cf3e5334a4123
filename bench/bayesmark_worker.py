"""An anchor optimiser for bench/bayesmark.py, run in its own venv: proposes, never evaluates.

    <venv>/bin/python bench/bayesmark_worker.py optuna_gp|hebo

Reads JSON lines on stdin and answers one JSON line per request:
``{"cmd": "start", "space": [...], "seed": s}`` (a fresh optimiser on bayesmark_problems'
warped space; answers the library versions), ``{"cmd": "ask", "n": 8}`` (answers
``{"points": [{name: value}], "ask_s": seconds}``; all ``n`` asked before any is told),
``{"cmd": "tell", "losses": [...]}`` (the last asked points' losses, in order). The objective
is computed by the driver, so every method sees the same scikit-learn.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, Dict, List


class OptunaGP:
    """Optuna's GPSampler, seeded; a batch is ``n`` trials asked before any is told."""

    def __init__(self, space: List[Dict[str, Any]], seed: int) -> None:
        import optuna
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
        self.distributions = {
            p["name"]: (FloatDistribution(p["low"], p["high"]) if p["type"] == "real"
                        else IntDistribution(p["low"], p["high"]) if p["type"] == "int"
                        else CategoricalDistribution([0, 1]))
            for p in space}
        self.pending: List[Any] = []

    def ask(self, n: int) -> List[Dict[str, Any]]:
        self.pending = [self.study.ask(self.distributions) for _ in range(n)]
        return [dict(trial.params) for trial in self.pending]

    def tell(self, losses: List[float]) -> None:
        for trial, loss in zip(self.pending, losses):
            self.study.tell(trial, loss)


class Hebo:
    """HEBO 0.3.6 (the NeurIPS 2020 winner), ``suggest(n_suggestions=n)`` / ``observe``."""

    def __init__(self, space: List[Dict[str, Any]], seed: int) -> None:
        import numpy as np
        import torch
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO

        np.random.seed(seed)
        torch.manual_seed(seed)
        kinds = {"real": "num", "int": "int", "bool": "int"}
        design = DesignSpace().parse([{"name": p["name"], "type": kinds[p["type"]], "lb": p["low"], "ub": p["high"]}
                                      for p in space])
        self.opt = HEBO(design, scramble_seed=seed)
        self.pending: Any = None

    def ask(self, n: int) -> List[Dict[str, Any]]:
        self.pending = self.opt.suggest(n_suggestions=n)
        return [{k: _plain(v) for k, v in row.items()} for row in self.pending.to_dict(orient="records")]

    def tell(self, losses: List[float]) -> None:
        import numpy as np

        self.opt.observe(self.pending, np.asarray(losses, dtype=float).reshape(-1, 1))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def versions(method: str) -> Dict[str, str]:
    import numpy
    import scipy

    found = {"numpy": numpy.__version__, "scipy": scipy.__version__}
    for name in (["optuna", "torch"] if method == "optuna_gp" else ["hebo", "torch", "pandas"]):
        try:
            module = __import__(name)
            found[name] = getattr(module, "__version__", "?")
        except ImportError:
            pass
    if method == "hebo":
        from importlib.metadata import version

        found["hebo"] = version("HEBO")
    return found


def main() -> None:
    method = sys.argv[1]
    optimizer: Any = None
    # the answers go to the real stdout; whatever the libraries print (HEBO and GPy print blank
    # lines and notices) goes to stderr, so the driver reads one JSON answer per line
    answers, sys.stdout = sys.stdout, sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "start":
            optimizer = (OptunaGP if method == "optuna_gp" else Hebo)(request["space"], request["seed"])
            answer: Dict[str, Any] = {"versions": versions(method)}
        elif request["cmd"] == "ask":
            start = time.perf_counter()
            answer = {"points": optimizer.ask(request["n"]), "ask_s": time.perf_counter() - start}
        else:
            optimizer.tell(request["losses"])
            answer = {"ok": True}
        print(json.dumps(answer), file=answers, flush=True)


if __name__ == "__main__":
    main()
