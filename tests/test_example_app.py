"""Unit tests of the Lightning example app: model, data module, per-trial rules, config tree.

Fast (no Trainer.fit): the end-to-end sweeps are in test_example_e2e.py.
"""
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch", reason="the example app needs torch (pip install -e '.[example]')")
pytest.importorskip("pytorch_lightning", reason="the example app needs pytorch-lightning (pip install -e '.[example]')")

from omegaconf import OmegaConf  # noqa: E402

from example_app.data import DigitsDataModule  # noqa: E402
from example_app.model import MLPClassifier  # noqa: E402
from example_app.runtime import best_metric, parallel_jobs, returned_metrics, threads_per_trial  # noqa: E402
from hydra_skopt_sweeper.doors import hydra as hydra_door  # noqa: E402

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
N_DIGITS = 1797


# ---------------------------------------------------------------- model


@pytest.mark.parametrize("n_layers", [0, 1, 3])
def test_model_forward_shape_and_depth(n_layers):
    model = MLPClassifier(input_dim=64, num_classes=10, hidden_size=32, n_layers=n_layers)
    out = model(torch.randn(5, 64))
    assert out.shape == (5, 10)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == n_layers + 1
    if n_layers:
        assert linears[0].out_features == 32


def test_model_saves_its_hyperparameters():
    model = MLPClassifier(hidden_size=96, n_layers=1, dropout=0.25, lr=0.003, weight_decay=1e-5)
    hp = model.hparams
    assert (hp.hidden_size, hp.n_layers, hp.dropout, hp.lr, hp.weight_decay) == (96, 1, 0.25, 0.003, 1e-5)
    optimizer = model.configure_optimizers()
    assert optimizer.param_groups[0]["lr"] == 0.003
    assert optimizer.param_groups[0]["weight_decay"] == 1e-5


def test_model_counts_and_logs_its_parameters():
    model = MLPClassifier(input_dim=64, num_classes=10, hidden_size=8, n_layers=1)
    assert model.n_params == 64 * 8 + 8 + 8 * 10 + 10
    assert MLPClassifier(hidden_size=8, n_layers=2).n_params == model.n_params + 8 * 8 + 8
    logged = {}
    model.log = lambda name, value, **kwargs: logged.update({name: value})
    model.on_validation_epoch_end()
    assert logged == {"n_params": float(model.n_params)}


def test_model_rejects_bad_hyperparameters():
    with pytest.raises(ValueError, match="dropout"):
        MLPClassifier(dropout=1.0)
    with pytest.raises(ValueError, match="n_layers"):
        MLPClassifier(n_layers=-1)


def test_a_few_optimisation_steps_reduce_the_loss():
    torch.manual_seed(0)
    dm = DigitsDataModule(batch_size=128, seed=0)
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    model = MLPClassifier(hidden_size=64, n_layers=2, dropout=0.0, lr=0.01)
    optimizer = model.configure_optimizers()
    model.train()
    losses = []
    for _ in range(25):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_shared_step_reports_loss_and_accuracy():
    # no dropout: both forward passes are the same, whatever the RNG's state after earlier tests
    model = MLPClassifier(hidden_size=32, n_layers=1, dropout=0.0)
    x, y = torch.randn(16, 64), torch.randint(0, 10, (16,))
    loss, acc = model._shared_step((x, y))
    assert loss.ndim == 0 and math.isfinite(loss.item())
    expected_acc = (model(x).argmax(-1) == y).float().mean()
    assert acc.item() == pytest.approx(expected_acc.item())


# ---------------------------------------------------------------- data


def _split(seed):
    dm = DigitsDataModule(batch_size=64, seed=seed)
    dm.setup("fit")
    return dm


def test_data_split_sizes_and_standardisation():
    dm = _split(0)
    n_train, n_val = len(dm.train_set), len(dm.val_set)
    assert n_train + n_val == N_DIGITS
    assert n_val == math.ceil(0.2 * N_DIGITS)
    x_train, y_train = dm.train_set.tensors
    assert x_train.shape == (n_train, DigitsDataModule.n_features)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.long
    assert set(y_train.unique().tolist()) == set(range(DigitsDataModule.n_classes))
    # standardised with training statistics: mean 0, std 1 on every non-constant feature
    std = x_train.std(dim=0, unbiased=False)
    varying = std > 0
    assert torch.allclose(x_train.mean(dim=0), torch.zeros(64), atol=1e-4)
    assert torch.allclose(std[varying], torch.ones(int(varying.sum())), atol=1e-3)


def test_data_split_is_deterministic_with_a_seed():
    a, b, c = _split(0), _split(0), _split(1)
    for part in ("train_set", "val_set"):
        for ta, tb in zip(getattr(a, part).tensors, getattr(b, part).tensors):
            assert torch.equal(ta, tb)
    assert not torch.equal(a.val_set.tensors[1], c.val_set.tensors[1])
    # the shuffling order depends on the seed too, not on the global RNG state
    torch.manual_seed(123)
    first_a = next(iter(a.train_dataloader()))[1]
    torch.manual_seed(456)
    first_b = next(iter(b.train_dataloader()))[1]
    assert torch.equal(first_a, first_b)


@pytest.mark.parametrize("batch_size", [32, 128])
def test_data_batch_size_is_honoured(batch_size):
    dm = DigitsDataModule(batch_size=batch_size, seed=0)
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (batch_size, 64) and y.shape == (batch_size,)
    assert len(dm.val_dataloader()) == math.ceil(len(dm.val_set) / batch_size)
    assert dm.hparams.batch_size == batch_size


# ---------------------------------------------------------------- per-trial rules


@pytest.mark.parametrize(
    "torch_threads, n_parallel, cpus, expected",
    [
        (None, 1, 16, 16),
        (None, 2, 2, 1),
        (None, 3, 16, 5),
        (None, 4, 2, 1),  # never 0
        (None, 0, 8, 8),
        (3, 2, 2, 3),  # an explicit value wins
    ],
)
def test_threads_per_trial(torch_threads, n_parallel, cpus, expected):
    assert threads_per_trial(torch_threads, n_parallel, cpus) == expected


def test_threads_per_trial_rejects_zero():
    with pytest.raises(ValueError, match="torch_threads"):
        threads_per_trial(0, 1, 4)


def _hydra_cfg(mode="MULTIRUN", n_jobs=None, batch_size=None):
    cfg = {"mode": mode, "launcher": {}, "sweeper": {}}
    if n_jobs is not None:
        cfg["launcher"]["n_jobs"] = n_jobs
    if batch_size is not None:
        cfg["sweeper"]["batch_size"] = batch_size
    return OmegaConf.create(cfg)


def test_parallel_jobs_from_the_hydra_config(monkeypatch):
    monkeypatch.setattr(hydra_door, "available_cpus", lambda: 8)
    assert parallel_jobs(None) == 1
    assert parallel_jobs(_hydra_cfg(mode="RUN", n_jobs=4)) == 1  # a single run
    assert parallel_jobs(_hydra_cfg(n_jobs=None)) == 1  # basic launcher: one trial at a time
    assert parallel_jobs(_hydra_cfg(n_jobs=2)) == 2
    assert parallel_jobs(_hydra_cfg(n_jobs=-1)) == 8  # joblib: -1 is all CPUs
    assert parallel_jobs(_hydra_cfg(n_jobs=-2)) == 7
    assert parallel_jobs(_hydra_cfg(n_jobs=4, batch_size=2)) == 2  # the sweeper launches 2 at once
    assert parallel_jobs(_hydra_cfg(n_jobs=2, batch_size=None)) == 2
    # the rule train.py applies: 2 parallel trials on 8 CPUs get 4 threads each
    assert threads_per_trial(None, parallel_jobs(_hydra_cfg(n_jobs=2)), 8) == 4


def test_best_metric_is_the_checkpoints_best_not_the_last_epoch():
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint

    checkpoint = ModelCheckpoint(monitor="val_loss", mode="min")
    checkpoint.best_model_score = torch.tensor(0.25)
    other = ModelCheckpoint(monitor="val_acc", mode="max")
    other.best_model_score = torch.tensor(0.9)
    trainer = SimpleNamespace(
        callbacks=[EarlyStopping(monitor="val_loss"), other, checkpoint],
        callback_metrics={"val_loss": torch.tensor(0.4), "val_acc": torch.tensor(0.8)},
    )
    assert best_metric(trainer, "val_loss") == pytest.approx(0.25)
    assert isinstance(best_metric(trainer, "val_loss"), float)
    assert best_metric(trainer, "val_acc") == pytest.approx(0.9)
    # no checkpoint on that metric: the last recorded value; never logged: None
    bare = SimpleNamespace(callbacks=[], callback_metrics={"val_loss": torch.tensor(0.4)})
    assert best_metric(bare, "val_loss") == pytest.approx(0.4)
    assert best_metric(bare, "val_acc") is None


def test_returned_metrics_are_every_metric_with_the_monitor_at_its_best():
    from pytorch_lightning.callbacks import ModelCheckpoint

    checkpoint = ModelCheckpoint(monitor="val_loss", mode="min")
    checkpoint.best_model_score = torch.tensor(0.25)
    metrics = {"val_loss": torch.tensor(0.4), "val_acc": torch.tensor(0.75), "n_params": torch.tensor(610.0)}
    trainer = SimpleNamespace(callbacks=[checkpoint], callback_metrics=metrics)
    returned = returned_metrics(trainer, "val_loss")
    assert returned == {"val_loss": 0.25, "val_acc": 0.75, "n_params": 610.0}
    assert all(type(v) is float for v in returned.values())
    # the monitor never logged: it is missing, which the sweeper records as a failed trial
    assert "val_f1" not in returned_metrics(trainer, "val_f1")


# ---------------------------------------------------------------- config tree


def _compose(overrides):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return compose(config_name="config", overrides=overrides, return_hydra_config=True)


def test_default_config_builds_the_app():
    from hydra.utils import instantiate

    cfg = _compose([])
    assert (cfg.monitor, cfg.mode, cfg.torch_threads) == ("val_loss", "min", None)
    assert cfg.trainer._target_ == "pytorch_lightning.Trainer"
    assert cfg.trainer.accelerator == "auto" and cfg.trainer.enable_progress_bar is False
    assert cfg.callbacks.checkpoint.monitor == "val_loss" and cfg.callbacks.checkpoint.mode == "min"
    assert cfg.callbacks.early_stopping.monitor == "val_loss"
    # every default output goes under the job dir
    raw = OmegaConf.to_container(cfg, resolve=False)
    for value in (
        raw["trainer"]["default_root_dir"],
        raw["callbacks"]["checkpoint"]["dirpath"],
        raw["logger"]["tensorboard"]["save_dir"],
    ):
        assert value.startswith("${hydra:runtime.output_dir}"), value
    dm = instantiate(cfg.data)
    model = instantiate(cfg.model, input_dim=dm.n_features, num_classes=dm.n_classes)
    assert isinstance(dm, DigitsDataModule) and isinstance(model, MLPClassifier)
    assert dm.hparams.seed == cfg.seed


@pytest.mark.parametrize(
    "preset, monitor, mode, maximize",
    [("tune_mlp", "val_loss", "min", False), ("tune_mlp_acc", "val_acc", "max", True)],
)
def test_sweep_presets_compose_with_plain_overrides(preset, monitor, mode, maximize):
    cfg = _compose([f"experiment={preset}", "trainer.max_epochs=2", "model.n_layers=1"])
    assert cfg.trainer.max_epochs == 2 and cfg.model.n_layers == 1
    assert (cfg.monitor, cfg.mode) == (monitor, mode)
    assert cfg.callbacks.checkpoint.monitor == monitor and cfg.callbacks.checkpoint.mode == mode
    assert cfg.callbacks.early_stopping.mode == mode
    sweeper, launcher = cfg.hydra.sweeper, cfg.hydra.launcher
    assert sweeper._target_.endswith("SkoptSweeper")
    assert "joblib" in launcher._target_ and launcher.n_jobs == 2
    assert (sweeper.n_calls, sweeper.n_initial_points, sweeper.batch_size, sweeper.random_state) == (20, 6, 2, 0)
    assert sweeper.maximize is maximize
    assert sweeper.constraint == "hidden_size % 32 == 0"
    assert set(sweeper.params) == {
        "model.lr", "model.weight_decay", "model.hidden_size", "model.n_layers", "model.dropout", "data.batch_size"
    }
    assert sweeper.params["model.lr"] == "tag(log, interval(1e-4, 1e-1))"
    # every swept key exists in the app's config
    for key in sweeper.params:
        assert OmegaConf.select(cfg, key) is not None, key


def test_the_size_preset_trades_val_loss_against_the_parameter_count():
    cfg = _compose(["experiment=tune_mlp_size", "trainer.max_epochs=2"])
    assert (cfg.monitor, cfg.mode, cfg.return_metrics) == ("val_loss", "min", True)
    assert cfg.callbacks.checkpoint.monitor == "val_loss" and cfg.trainer.max_epochs == 2
    sweeper = cfg.hydra.sweeper
    assert list(sweeper.monitor) == ["val_loss", "n_params"] and list(sweeper.maximize) == [False, False]
    assert len(sweeper.reference_point) == 2
    assert "joblib" in cfg.hydra.launcher._target_ and cfg.hydra.sweep.dir.startswith("multirun/tune_mlp_size/")
    assert sweeper.params["model.hidden_size"] == "tag(log, int(interval(4, 256)))"
    for key in sweeper.params:
        assert OmegaConf.select(cfg, key) is not None, key
    # the other presets return a float, as before
    assert _compose(["experiment=tune_mlp"]).return_metrics is False


def test_the_budget_preset_asks_for_the_best_val_loss_under_a_parameter_count():
    from hydra_skopt_sweeper.problem.metrics import MetricConstraints

    cfg = _compose(["experiment=tune_mlp_budget", "trainer.max_epochs=2"])
    assert (cfg.monitor, cfg.mode, cfg.return_metrics) == ("val_loss", "min", True)
    sweeper = cfg.hydra.sweeper
    assert sweeper.monitor == "val_loss" and sweeper.maximize is False
    assert "joblib" in cfg.hydra.launcher._target_ and cfg.hydra.sweep.dir.startswith("multirun/tune_mlp_budget/")
    for key in sweeper.params:
        assert OmegaConf.select(cfg, key) is not None, key
    constraints = MetricConstraints(list(sweeper.metric_constraints), list(sweeper.params))
    assert constraints.names == ("n_params",)
    # the budget rules out the largest models of the space and keeps the small ones
    sizes = [MLPClassifier(hidden_size=hidden, n_layers=layers).n_params
             for hidden, layers in [(4, 1), (64, 1), (256, 1), (256, 2)]]
    assert [constraints.feasible({"n_params": size}) for size in sizes] == [True, True, False, False]


def test_the_optimizer_preset_sweeps_sgds_momentum_only_with_sgd():
    from hydra.utils import instantiate

    cfg = _compose(["experiment=tune_mlp_optimizer"])
    params = cfg.hydra.sweeper.params
    assert params["optimizer"] == "choice(adamw, sgd)"  # the config group
    assert dict(params["model.momentum"]) == {"sweep": "interval(0.5, 0.99)", "when": "optimizer == 'sgd'"}
    assert "model.lr" in params and cfg.hydra.sweep.dir.startswith("multirun/tune_mlp_optimizer/")
    assert cfg.model.optimizer == "adamw"  # the group's default
    sgd = _compose(["optimizer=sgd", "model.momentum=0.8"])
    model = instantiate(sgd.model, input_dim=64, num_classes=10)
    optimizer = model.configure_optimizers()
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.param_groups[0]["momentum"] == 0.8


def test_model_rejects_an_unknown_optimizer():
    with pytest.raises(ValueError, match="optimizer must be one of adamw, sgd, got 'lion'"):
        MLPClassifier(optimizer="lion")


def test_describe_overrides_for_the_trial_log_line():
    from example_app.runtime import describe_overrides

    overrides = [
        "experiment=tune_mlp",
        "trainer.max_epochs=2",
        "model.lr=0.00010982846323993615",
        "model.hidden_size=128",
        "data.batch_size=64",
        "+model.extra=1e-07",
    ]
    swept = ["model.lr", "model.hidden_size", "data.batch_size", "model.extra"]
    assert describe_overrides(overrides, swept) == (
        "model.lr=0.0001098 model.hidden_size=128 data.batch_size=64 +model.extra=1e-07"
    )
    # no search space known (e.g. Hydra's basic sweeper): every override, floats shortened
    assert describe_overrides(["model.lr=0.001", "model=mlp"]) == "model.lr=0.001 model=mlp"
    assert describe_overrides(["model.name=a.b"]) == "model.name=a.b"


def test_callbacks_and_loggers_come_from_config_alone(tmp_path):
    """Add a callback, disable one, add a logger, all from overrides; everything lands in the
    job dir (hydra.runtime.output_dir)."""
    from hydra.core.hydra_config import HydraConfig
    from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    from example_app.callbacks import HParamsMetric
    from example_app.runtime import instantiate_named

    cfg = _compose(
        [
            "+callbacks.lr_monitor._target_=pytorch_lightning.callbacks.LearningRateMonitor",
            "callbacks.early_stopping=null",
            "+logger.csv._target_=pytorch_lightning.loggers.CSVLogger",
            "+logger.csv.save_dir=${hydra:runtime.output_dir}",
            "experiment=tune_mlp_acc",
        ]
    )
    cfg.hydra.runtime.output_dir = str(tmp_path)
    HydraConfig.instance().set_config(cfg)
    try:
        callbacks = instantiate_named(cfg.callbacks)
        loggers = instantiate_named(cfg.logger)
    finally:
        HydraConfig.instance().cfg = None
    assert [type(c).__name__ for c in callbacks] == ["ModelCheckpoint", "HParamsMetric", "PruningCallback",
                                                      "LearningRateMonitor"]
    assert (callbacks[2].monitor, callbacks[2].mode) == ("val_acc", "max")  # the sweep's metric
    assert not any(isinstance(c, EarlyStopping) for c in callbacks)
    checkpoint = callbacks[0]
    assert Path(checkpoint.dirpath) == tmp_path / "checkpoints"
    assert (checkpoint.monitor, checkpoint.mode) == ("val_acc", "max")
    assert callbacks[1].monitor == "val_acc"
    assert [type(lg) for lg in loggers] == [TensorBoardLogger, CSVLogger]
    assert Path(loggers[0].log_dir) == tmp_path / "tb"
    assert Path(loggers[1].save_dir) == tmp_path
    assert instantiate_named(None) == []
