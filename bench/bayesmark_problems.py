"""Bayesmark's scikit-learn tuning problems (NeurIPS 2020 black-box optimisation challenge).

Re-implemented from ``bayesmark/sklearn_funcs.py`` and ``bayesmark/data.py`` of uber/bayesmark
(the package itself pins numpy/scipy/scikit-learn versions that predate Python 3.11 and uses
``np.float_`` and ``datasets.load_boston``, gone from current numpy and scikit-learn): the same
models, fixed parameters, search spaces (``type`` real/int/bool, ``space`` linear/log/logit,
``range``), data sets, metrics, an 80/20 split with ``shuffle_seed=0`` and 5-fold
``cross_val_score`` on the 80%; the objective is the negated mean CV score (a loss, minimised).
The generalisation loss on the held-out 20% is not computed (the leaderboard scores the CV loss).

Space and warps: every optimiser sees bayesmark's *warped* space, as bayesmark's own wrappers do
(``bayesmark/space.py``: log -> ``np.log``, logit -> ``scipy.special.logit``): a real (and a
log-warped int) is a real on the warped range, an int with the linear warp an int, a bool a
0/1 choice; :func:`unwarp` maps a warped point back (ints rounded after unwarping, as
bayesmark's ``round_to_values``).

Only numpy at import time (scikit-learn inside :class:`Objective`): importable from any venv.
"""
from __future__ import annotations

import inspect
import math
import warnings
from typing import Any, Dict, List, Tuple

import numpy as np

CV_SPLITS = 5

knn_cfg = {
    "n_neighbors": {"type": "int", "space": "linear", "range": (1, 25)},
    "p": {"type": "int", "space": "linear", "range": (1, 4)},
}
svm_cfg = {
    "C": {"type": "real", "space": "log", "range": (1.0, 1e3)},
    "gamma": {"type": "real", "space": "log", "range": (1e-4, 1e-3)},
    "tol": {"type": "real", "space": "log", "range": (1e-5, 1e-1)},
}
dt_cfg = {
    "max_depth": {"type": "int", "space": "linear", "range": (1, 15)},
    "min_samples_split": {"type": "real", "space": "logit", "range": (0.01, 0.99)},
    "min_samples_leaf": {"type": "real", "space": "logit", "range": (0.01, 0.49)},
    "min_weight_fraction_leaf": {"type": "real", "space": "logit", "range": (0.01, 0.49)},
    "max_features": {"type": "real", "space": "logit", "range": (0.01, 0.99)},
    "min_impurity_decrease": {"type": "real", "space": "linear", "range": (0.0, 0.5)},
}
rf_cfg = dict(dt_cfg)  # bayesmark's random forest searches its decision tree's space
mlp_adam_cfg = {
    "hidden_layer_sizes": {"type": "int", "space": "linear", "range": (50, 200)},
    "alpha": {"type": "real", "space": "log", "range": (1e-5, 1e1)},
    "batch_size": {"type": "int", "space": "linear", "range": (10, 250)},
    "learning_rate_init": {"type": "real", "space": "log", "range": (1e-5, 1e-1)},
    "tol": {"type": "real", "space": "log", "range": (1e-5, 1e-1)},
    "validation_fraction": {"type": "real", "space": "logit", "range": (0.1, 0.9)},
    "beta_1": {"type": "real", "space": "logit", "range": (0.5, 0.99)},
    "beta_2": {"type": "real", "space": "logit", "range": (0.9, 1.0 - 1e-6)},
    "epsilon": {"type": "real", "space": "log", "range": (1e-9, 1e-6)},
}
mlp_sgd_cfg = {
    "hidden_layer_sizes": {"type": "int", "space": "linear", "range": (50, 200)},
    "alpha": {"type": "real", "space": "log", "range": (1e-5, 1e1)},
    "batch_size": {"type": "int", "space": "linear", "range": (10, 250)},
    "learning_rate_init": {"type": "real", "space": "log", "range": (1e-5, 1e-1)},
    "power_t": {"type": "real", "space": "logit", "range": (0.1, 0.9)},
    "tol": {"type": "real", "space": "log", "range": (1e-5, 1e-1)},
    "momentum": {"type": "real", "space": "logit", "range": (0.001, 0.999)},
    "validation_fraction": {"type": "real", "space": "logit", "range": (0.1, 0.9)},
}
ada_cfg = {
    "n_estimators": {"type": "int", "space": "linear", "range": (10, 100)},
    "learning_rate": {"type": "real", "space": "log", "range": (1e-4, 1e1)},
}
lasso_cfg = {
    "C": {"type": "real", "space": "log", "range": (1e-2, 1e2)},
    "intercept_scaling": {"type": "real", "space": "log", "range": (1e-2, 1e2)},
}
linear_cfg = dict(lasso_cfg)
# bayesmark's regression lasso/linear also tune ``normalize`` (bool), removed from scikit-learn
# 1.2: dropped here.
lasso_cfg_reg = {
    "alpha": {"type": "real", "space": "log", "range": (1e-2, 1e2)},
    "fit_intercept": {"type": "bool"},
    "max_iter": {"type": "int", "space": "log", "range": (10, 5000)},
    "tol": {"type": "real", "space": "log", "range": (1e-5, 1e-1)},
    "positive": {"type": "bool"},
}
linear_cfg_reg = {
    "alpha": {"type": "real", "space": "log", "range": (1e-2, 1e2)},
    "fit_intercept": {"type": "bool"},
    "max_iter": {"type": "int", "space": "log", "range": (10, 5000)},
    "tol": {"type": "real", "space": "log", "range": (1e-4, 1e-1)},
}

# model name -> (sklearn class path, fixed params, api config)
MODELS_CLF: Dict[str, Tuple[str, Dict[str, Any], Dict[str, Dict[str, Any]]]] = {
    "kNN": ("sklearn.neighbors.KNeighborsClassifier", {}, knn_cfg),
    "SVM": ("sklearn.svm.SVC", {"kernel": "rbf", "probability": True}, svm_cfg),
    "DT": ("sklearn.tree.DecisionTreeClassifier", {"max_leaf_nodes": None}, dt_cfg),
    "RF": ("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 10, "max_leaf_nodes": None}, rf_cfg),
    "MLP-adam": ("sklearn.neural_network.MLPClassifier", {"solver": "adam", "early_stopping": True}, mlp_adam_cfg),
    "MLP-sgd": ("sklearn.neural_network.MLPClassifier",
                {"solver": "sgd", "early_stopping": True, "learning_rate": "invscaling", "nesterovs_momentum": True},
                mlp_sgd_cfg),
    "ada": ("sklearn.ensemble.AdaBoostClassifier", {}, ada_cfg),
    "lasso": ("sklearn.linear_model.LogisticRegression",
              {"penalty": "l1", "fit_intercept": True, "solver": "liblinear", "multi_class": "ovr"}, lasso_cfg),
    "linear": ("sklearn.linear_model.LogisticRegression",
               {"penalty": "l2", "fit_intercept": True, "solver": "liblinear", "multi_class": "ovr"}, linear_cfg),
}
MODELS_REG: Dict[str, Tuple[str, Dict[str, Any], Dict[str, Dict[str, Any]]]] = {
    "kNN": ("sklearn.neighbors.KNeighborsRegressor", {}, knn_cfg),
    "SVM": ("sklearn.svm.SVR", {"kernel": "rbf"}, svm_cfg),
    "DT": ("sklearn.tree.DecisionTreeRegressor", {"max_leaf_nodes": None}, dt_cfg),
    "RF": ("sklearn.ensemble.RandomForestRegressor", {"n_estimators": 10, "max_leaf_nodes": None}, rf_cfg),
    "MLP-adam": ("sklearn.neural_network.MLPRegressor", {"solver": "adam", "early_stopping": True}, mlp_adam_cfg),
    "MLP-sgd": ("sklearn.neural_network.MLPRegressor",
                {"activation": "tanh", "solver": "sgd", "early_stopping": True, "learning_rate": "invscaling",
                 "nesterovs_momentum": True}, mlp_sgd_cfg),
    "ada": ("sklearn.ensemble.AdaBoostRegressor", {}, ada_cfg),
    "lasso": ("sklearn.linear_model.Lasso", {}, lasso_cfg_reg),
    "linear": ("sklearn.linear_model.Ridge", {"solver": "auto"}, linear_cfg_reg),
}
MODEL_NAMES = ("DT", "MLP-adam", "MLP-sgd", "RF", "SVM", "ada", "kNN", "lasso", "linear")
# boston (bayesmark's other regression set) was removed from scikit-learn 1.2.
DATASETS = {"digits": "clf", "iris": "clf", "wine": "clf", "breast": "clf", "diabetes": "reg"}
LOADERS = {"digits": "load_digits", "iris": "load_iris", "wine": "load_wine", "breast": "load_breast_cancer",
           "diabetes": "load_diabetes"}
METRICS = {"clf": ("nll", "acc"), "reg": ("mse", "mae")}
SCORERS = {"nll": "neg_log_loss", "acc": "accuracy", "mae": "neg_mean_absolute_error",
           "mse": "neg_mean_squared_error"}


def api_config(model: str, dataset: str) -> Dict[str, Dict[str, Any]]:
    return (MODELS_CLF if DATASETS[dataset] == "clf" else MODELS_REG)[model][2]


def _warp(space: str, x: float) -> float:
    if space == "log":
        return math.log(x)
    return math.log(x / (1.0 - x)) if space == "logit" else x


def _unwarp(space: str, x: float) -> float:
    if space == "log":
        return math.exp(x)
    return 1.0 / (1.0 + math.exp(-x)) if space == "logit" else x


def warped_space(config: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
    """What the optimisers see: ``{"name", "type": real|int|bool, "low", "high"}`` per parameter."""
    spec = []
    for name, p in config.items():
        if p["type"] == "bool":
            spec.append({"name": name, "type": "bool", "low": 0, "high": 1})
        elif p["type"] == "int" and p["space"] == "linear":
            spec.append({"name": name, "type": "int", "low": int(p["range"][0]), "high": int(p["range"][1])})
        else:
            low, high = (_warp(p["space"], float(v)) for v in p["range"])
            spec.append({"name": name, "type": "real", "low": low, "high": high})
    return spec


def unwarp(config: Dict[str, Dict[str, Any]], point: Dict[str, Any]) -> Dict[str, Any]:
    """A warped point (name -> value) as the model's parameters, clipped into range."""
    params: Dict[str, Any] = {}
    for name, p in config.items():
        x = point[name]
        if p["type"] == "bool":
            params[name] = bool(round(float(x)))
            continue
        value = _unwarp(p["space"], float(x))
        low, high = p["range"]
        value = min(max(value, low), high)
        params[name] = int(round(value)) if p["type"] == "int" else float(value)
    return params


class Objective:
    """Bayesmark's ``SklearnModel``: CV loss of ``model`` on ``dataset`` under ``metric``."""

    def __init__(self, model: str, dataset: str, metric: str, shuffle_seed: int = 0) -> None:
        import importlib

        from sklearn import datasets
        from sklearn.metrics import get_scorer
        from sklearn.model_selection import train_test_split

        kind = DATASETS[dataset]
        assert metric in METRICS[kind], f"metric {metric} does not fit a {kind} data set"
        path, fixed, self.config = (MODELS_CLF if kind == "clf" else MODELS_REG)[model]
        module, _, cls = path.rpartition(".")
        self.model_class = getattr(importlib.import_module(module), cls)
        # liblinear one-vs-rest: an option of LogisticRegression before scikit-learn 1.8, a wrapper since
        self.one_vs_rest = "multi_class" in fixed and "multi_class" not in inspect.signature(self.model_class).parameters
        self.fixed = _compatible(self.model_class, fixed)
        data, target = getattr(datasets, LOADERS[dataset])(return_X_y=True)
        self.X, _, self.y, _ = train_test_split(data.astype(float), target, test_size=0.2,
                                                random_state=shuffle_seed, shuffle=True)
        self.scorer = get_scorer(SCORERS[metric])

    def __call__(self, params: Dict[str, Any]) -> float:
        from sklearn.model_selection import cross_val_score

        estimator = self.model_class(**{**params, **self.fixed})
        if self.one_vs_rest:
            from sklearn.multiclass import OneVsRestClassifier

            estimator = OneVsRestClassifier(estimator)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = cross_val_score(estimator, self.X, self.y, scoring=self.scorer, cv=CV_SPLITS,
                                     error_score="raise")
        loss = -float(np.mean(scores))
        assert math.isfinite(loss), f"non-finite loss at {params}"
        return loss


def _compatible(model_class: type, fixed: Dict[str, Any]) -> Dict[str, Any]:
    """Bayesmark's fixed parameters in this scikit-learn's spelling: ``multi_class`` (removed in
    1.8) dropped (a ``OneVsRestClassifier`` instead); ``penalty`` (deprecated in 1.8) as ``l1_ratio``."""
    accepted = inspect.signature(model_class).parameters
    fixed = {k: v for k, v in fixed.items() if k in accepted}
    if "penalty" in fixed and "l1_ratio" in accepted and accepted["penalty"].default == "deprecated":
        fixed["l1_ratio"] = 1.0 if fixed.pop("penalty") == "l1" else 0.0
    return fixed
