"""TorchOptimizer, the seed's own call: refusals before any trial (here), the trial's own
plumbing (here, with stand-ins for Lightning's objects), and real sweeps of a notebook-like
script with its model class in ``__main__`` (subprocesses: two workers, several monitors, a
model that does not log its monitor, Ctrl-C and resume), and the seed's example end to end."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hydra_skopt_sweeper.errors import SweeperConfigError
from hydra_skopt_sweeper.trial.lightning_trial import LightningTrial, lightning_package, returned_metrics
from tests.killing import kill_when
from tests.waiting import wait_for_files

pl = pytest.importorskip("pytorch_lightning", reason="TorchOptimizer's trials need pytorch-lightning")
from skopt.space import Integer, Real  # noqa: E402

from hydra_skopt_sweeper import TorchOptimizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "apps" / "torch_optimizer" / "script.py"
NOTEBOOK = REPO / "example_app" / "notebook_example.py"


class Model(pl.LightningModule):
    def __init__(self, lr: float = 0.1, hidden_size: int = 8) -> None:
        super().__init__()


SPACE = [Real(1e-4, 1e-1, "log-uniform", name="lr"), Integer(8, 64, name="hidden_size")]


def optimizer(**changes):
    arguments = {"model": Model, "train_loader": [], "val_loader": [], "space": SPACE, "n_calls": 4}
    return TorchOptimizer(**{**arguments, **changes})


# -- refused before any trial, naming the argument ------------------------------------------------


@pytest.mark.parametrize("changes, words", [
    ({"model": Model(1.0)}, "model=Model(): must be a LightningModule class (the class, not an instance)"),
    ({"model": dict}, "model=<class 'dict'>: must be a LightningModule class"),
    ({"space": "lr"}, "space='lr': must be a list of skopt.space dimensions"),
    ({"space": [Real(0.1, 1.0)]}, "space[0]=Real(low=0.1, high=1.0, prior='uniform', transform='identity'): has no name"),
    ({"space": {"model.lr": "interval(0, 1)"}}, "space: 'model.lr' is not a keyword argument name"),
    ({"constraint": 3}, "constraint=3: must be a callable on the params dict"),
    ({"monitor": []}, "monitor=[]: must be the name of a logged metric"),
    ({"monitor": ["a", "b"], "maximise": [True]}, "maximise=[True]: must be a bool, or a list of 2 bools"),
    ({"n_jobs": 0}, "n_jobs=0: must be a positive int"),
    ({"threads": 0}, "threads=0: must be an int >= 1"),
    ({"train_loader": None}, "train_loader=None: give train_loader (and val_loader), or datamodule"),
    ({"datamodule": object()}, "datamodule= and train_loader=/val_loader= together"),
    ({"pruner": "median"}, "pruner='median': must be a mapping of hydra.sweeper.pruner's keys"),
    ({"n_trials": 5}, "n_trials=5: not an argument of TorchOptimizer"),
])
def test_a_bad_argument_is_refused_by_name(changes, words):
    with pytest.raises(SweeperConfigError) as refused:
        optimizer(**changes)
    assert words in str(refused.value)


@pytest.mark.parametrize("changes, words", [
    ({"constraint": lambda params: params["hidden_size"] > 100},
     "constraint='<Python callable <lambda>>': no point of the search space satisfies it"),
    ({"constraint": "hidden_size > 100"}, "constraint='hidden_size > 100': no point of the search space satisfies it"),
    ({"n_calls": 0}, "n_calls=0"),
    ({"space": {"lr": "interval(1, 0)"}}, "space.lr"),
])
def test_a_constraint_no_point_meets_or_a_bad_setting_stops_before_any_trial(tmp_path, changes, words):
    with pytest.raises(SweeperConfigError) as refused:
        optimizer(sweep_dir=tmp_path, **changes)()
    assert words in str(refused.value) and "hydra.sweeper" not in str(refused.value)
    assert not (tmp_path / "trials.jsonl").exists() and not (tmp_path / "0").exists()


def test_the_package_exports_it_lazily():
    import hydra_skopt_sweeper

    assert hydra_skopt_sweeper.TorchOptimizer is TorchOptimizer
    assert "TorchOptimizer" in hydra_skopt_sweeper.__all__


def test_lightning_package_is_read_from_the_class_without_importing():
    assert lightning_package(Model) == "pytorch_lightning"
    assert lightning_package(Model()) is None and lightning_package(int) is None


# -- the trial's plumbing ---------------------------------------------------------------------------


class _Logger:
    def __init__(self, version=None):
        self._version = version


class ModelCheckpoint:  # a stand-in: recognised by its class name, as Lightning's of either package
    def __init__(self, dirpath=None, monitor=None, best=None):
        self.dirpath, self.monitor, self.best_model_score = dirpath, monitor, best


def test_each_trial_gets_its_own_logger_version_and_checkpoint_dir(tmp_path):
    given = {"logger": _Logger(), "callbacks": [ModelCheckpoint(dirpath=str(tmp_path / "ckpt"))], "max_epochs": 3}
    trial = LightningTrial(Model, ["lr"], given, ["val_loss"], "min", prune=False)
    args = trial._trainer_args(7, tmp_path / "7", devices=[1])
    assert args["logger"]._version == "trial_7"
    assert args["callbacks"][0].dirpath == str(tmp_path / "ckpt" / "trial_7")
    assert args["default_root_dir"] == str(tmp_path / "7") and args["devices"] == [1] and args["max_epochs"] == 3
    # the user's own objects are left as they were, for the next trial
    assert given["logger"]._version is None and given["callbacks"][0].dirpath == str(tmp_path / "ckpt")
    # a version the user chose is theirs
    assert LightningTrial(Model, [], {"logger": _Logger("mine")}, ["val_loss"], "min", prune=False) \
        ._trainer_args(2, tmp_path, None)["logger"]._version == "mine"


class _Trainer:
    def __init__(self, metrics, callbacks=()):
        self.callback_metrics, self.callbacks = metrics, list(callbacks)


def test_a_trial_returns_every_metric_with_the_monitor_at_its_checkpoints_best():
    trainer = _Trainer({"val_loss": 0.5, "val_acc": 0.8, "text": "x"}, [ModelCheckpoint(monitor="val_loss", best=0.25)])
    assert returned_metrics(trainer, ["val_loss"]) == {"val_loss": 0.25, "val_acc": 0.8}


def test_a_model_that_never_logs_the_monitor_fails_its_trial_with_what_it_logged():
    trial = LightningTrial(Model, [], {}, ["val_loss"], "min")
    with pytest.raises(ValueError) as failed:
        trial._measured(_Trainer({"train_loss": 0.3}), Model())
    assert ("monitor='val_loss': Model never logged it; it logged: train_loss. Log it in validation_step "
            "with self.log('val_loss', value)") in str(failed.value)


# -- real sweeps of a notebook-like script ---------------------------------------------------------


def _run(tmp_path, cwd=None, **options):
    proc = subprocess.run([sys.executable, str(SCRIPT), json.dumps({"sweep_dir": str(tmp_path / "sweep"), **options})],
                          cwd=cwd or tmp_path, capture_output=True, text=True, timeout=600)
    return proc, proc.stdout + proc.stderr


def _result(printed):
    line = next(line for line in printed.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def _journal(sweep_dir):
    return [json.loads(line) for line in (sweep_dir / "trials.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_several_monitors_a_datamodule_and_metric_constraints_give_the_front(tmp_path):
    proc, printed = _run(tmp_path, space={"lr": "tag(log, interval(0.001, 0.3))", "hidden_size": "range(4, 16, 4)"},
                         constraint_mod=8, datamodule=True, monitor=["val_loss", "val_size"],
                         metric_constraints=["val_size <= 200"], pruner=None, n_calls=3, n_initial_points=2, n_jobs=2)
    assert proc.returncode == 0, printed
    result = _result(printed)
    records = _journal(tmp_path / "sweep")
    assert len(records) == 3 and all(r["status"] == "ok" for r in records)
    assert all(r["params"]["hidden_size"] == 8 for r in records)  # the Python constraint: 8 is the one multiple of 8
    assert result["result"]["monitor"] == ["val_loss", "val_size"] and result["front"]
    assert result["best"] == [r["params"] for r in records if r["number"] in result["front"]]
    assert not (tmp_path / "sweep" / ".curves").exists()  # pruner=None and several monitors: no callback


@pytest.mark.slow
def test_a_model_that_does_not_log_the_monitor_gives_failed_trials_that_say_so(tmp_path):
    proc, printed = _run(tmp_path, space={"lr": "interval(0.01, 0.1)"}, log=["val_size"], n_calls=2,
                         n_initial_points=2, n_jobs=2)
    assert proc.returncode != 0
    records = _journal(tmp_path / "sweep")
    assert len(records) == 2 and all(r["status"] == "failed" for r in records)
    assert all("monitor='val_loss': Model never logged it; it logged: val_size" in r["error"] for r in records)


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_trials_and_the_same_call_resumes(tmp_path):
    sweep_dir = tmp_path / "sweep"
    options = {"sweep_dir": str(sweep_dir), "space": {"lr": "interval(0.01, 0.1)"}, "n_calls": 5,
               "n_initial_points": 2, "n_jobs": 2, "sleep_s": 0.4}
    journal = sweep_dir / "trials.jsonl"
    log = tmp_path / "interrupted.log"
    # a notebook's interrupt reaches its kernel alone, not the workers
    status = kill_when([str(SCRIPT), json.dumps(options)], lambda: journal.is_file() and journal.read_text().strip(),
                       sig=signal.SIGINT, output=log, whole_group=False, timeout=300)
    printed = log.read_text()
    assert status != 0 and "KeyboardInterrupt" in printed, printed
    assert f"call the optimizer again (sweep_dir={sweep_dir}) to resume" in printed
    kept = _journal(sweep_dir)
    assert 1 <= len(kept) < 5 and all(r["status"] == "ok" for r in kept)

    proc = subprocess.run([sys.executable, str(SCRIPT), json.dumps({k: v for k, v in options.items() if k != "sleep_s"})],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(kept)} trial(s) in the journal" in proc.stdout + proc.stderr
    records = _journal(sweep_dir)
    assert len(records) == 5 and records[:len(kept)] == kept
    assert len({r["number"] for r in records}) == 5


@pytest.mark.slow
def test_the_seeds_call_runs_as_the_notebook_example_and_a_second_call_resumes(tmp_path):
    command = [sys.executable, str(NOTEBOOK), "--tiny"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 0, printed
    sweep_dir = tmp_path / "multirun" / "MyModel"
    records = _journal(sweep_dir)
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    assert all(r["params"]["hidden_size"] % 32 == 0 for r in records)  # the seed's constraint
    best = min(records, key=lambda r: r["value"])
    assert f"Best params: {best['params']}" in printed
    # the seed's TensorBoardLogger and ModelCheckpoint, copied for each trial: one version each
    logs = tmp_path / "multirun" / "notebook_logs" / "lightning_logs"
    assert sorted(p.name for p in logs.iterdir()) == sorted(f"trial_{r['number']}" for r in records)
    assert all(list((logs / f"trial_{r['number']}" / "checkpoints").glob("*.ckpt")) for r in records)
    assert list((sweep_dir / ".curves").iterdir())  # the pruning callback reported every epoch
    wait_for_files([sweep_dir / "report.html", sweep_dir / "convergence.png"])

    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "4 trial(s) in the journal" in again.stdout + again.stderr
    assert len(_journal(sweep_dir)) == 4 and f"Best params: {best['params']}" in again.stdout


def test_while_the_door_runs_the_packages_log_lines_name_its_arguments(caplog):
    import logging

    from hydra_skopt_sweeper.doors.torch_optimizer import _in_door_words

    caplog.set_level(logging.INFO)
    factory = logging.getLogRecordFactory()
    with _in_door_words():
        logging.getLogger("hydra_skopt_sweeper.settings").info(
            "hydra.sweeper.n_initial_points=%d is more than n_calls=%d", 10, 4)
        logging.getLogger("hydra_skopt_sweeper.sweep.loop").info("hydra.sweeper.params.lr: no point left")
        logging.getLogger("hydra_skopt_sweeper.doors.hydra").info(
            "Trials run through hydra/launcher=%s (%s)", "joblib", "JoblibLauncher")
        logging.getLogger("someone.else").info("hydra.sweeper.n_calls=3")
    assert [r.getMessage() for r in caplog.records] == [
        "n_initial_points=10 is more than n_calls=4", "space.lr: no point left",
        "Trials run through joblib's worker processes (n_jobs)", "hydra.sweeper.n_calls=3"]
    assert logging.getLogRecordFactory() is factory
