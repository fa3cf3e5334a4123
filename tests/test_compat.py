"""compat.py: the Optuna sweeper's keys mapped to this sweeper's, and an app of
lightning-hydra-template's shape swept with its own Optuna file (modelled on the template's
tests/test_sweeps.py: real multiruns in subprocesses, asserting results and exit codes)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hydra_skopt_sweeper.compat import from_optuna
from hydra_skopt_sweeper.errors import SweeperConfigError

TEMPLATE_APP = Path(__file__).parent / "apps" / "template" / "train.py"
DEFAULTS = {"n_calls": 50, "n_initial_points": 10, "batch_size": None, "random_state": None,
            "max_failures": None, "maximize": None}


def test_every_key_with_a_meaning_is_mapped_and_the_rest_ignored_by_name():
    mapped = from_optuna({"direction": "maximize", "n_trials": 20, "n_jobs": 2, "storage": None,
                          "study_name": "mnist", "max_failure_rate": 0.1, "params": {"lr": "interval(0, 1)"},
                          "sampler": {"_target_": "optuna.samplers.TPESampler", "seed": 1234,
                                      "n_startup_trials": 5, "multivariate": True}}, DEFAULTS)
    assert mapped.settings == {"maximize": True, "n_calls": 20, "batch_size": 2, "max_failures": 3,
                               "random_state": 1234, "n_initial_points": 5, "params": {"lr": "interval(0, 1)"}}
    text = mapped.describe()
    assert "direction=maximize -> maximize=true" in text and "n_trials=20 -> n_calls=20" in text
    assert "max_failure_rate=0.1 -> max_failures=3" in text
    assert "ignored sampler._target_ (optuna.samplers.TPESampler), sampler.multivariate, study_name" in text


def test_a_config_without_optuna_keys_is_unchanged():
    settings = {"n_calls": 12, "maximize": True}
    mapped = from_optuna(settings, DEFAULTS)
    assert mapped.settings == settings and mapped.describe() == ""


@pytest.mark.parametrize("settings, message", [
    ({"direction": "maximize", "maximize": False}, "hydra.sweeper.direction='maximize' means maximize=True, but hydra.sweeper.maximize=False"),
    ({"direction": "minimize", "maximize": True}, "means maximize=False, but hydra.sweeper.maximize=True"),
    ({"n_trials": 20, "n_calls": 30}, "hydra.sweeper.n_trials=20 means n_calls=20, but hydra.sweeper.n_calls=30"),
    ({"direction": ["minimize", "maximize"]}, "several objectives are not supported"),
    ({"direction": "upwards"}, "hydra.sweeper.direction='upwards': must be one of minimize, maximize"),
    ({"custom_search_space": "my_pkg.space"}, "write each parameter in hydra.sweeper.params"),
    ({"search_space": {"lr": {"type": "float"}}}, "old distribution mappings are not read here"),
    ({"max_failure_rate": 2}, "max_failure_rate=2: must be a number in [0, 1]"),
])
def test_what_cannot_be_honoured_is_refused_with_what_to_write(settings, message):
    with pytest.raises(SweeperConfigError, match=None) as error:
        from_optuna(settings, DEFAULTS)
    assert message in str(error.value)


def test_agreeing_keys_are_accepted():
    mapped = from_optuna({"direction": "maximize", "maximize": True, "n_trials": 30, "n_calls": 30}, DEFAULTS)
    assert mapped.settings["maximize"] is True and mapped.settings["n_calls"] == 30


# -- an app of lightning-hydra-template's shape -----------------------------------------------

def template_sweep(sweep_dir, *overrides):
    return subprocess.run([sys.executable, "-Werror", str(TEMPLATE_APP), "hparams_search=mnist_optuna",
                           "hydra/sweeper=skopt_gp", f"hydra.sweep.dir={sweep_dir}", *overrides],
                          capture_output=True, text=True, timeout=300)


def test_the_templates_optuna_file_runs_under_skopt_gp_and_maximises(tmp_path):
    done = template_sweep(tmp_path, "hydra.sweeper.n_trials=8")  # hydra.mode=MULTIRUN is in the file
    assert done.returncode == 0, done.stderr
    log = done.stdout + done.stderr
    assert "Optuna sweeper keys: mapped direction=maximize -> maximize=true, n_trials=8 -> n_calls=8" in log
    assert "ignored sampler._target_ (optuna.samplers.TPESampler)" in log
    assert "skopt_gp: maximising val/acc_best" in log
    records = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert len(records) == 8 and all(r["status"] == "ok" for r in records)
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert results["maximize"] is True and results["best_value"] == max(r["value"] for r in records)
    assert set(results["best_params"]) == {"model.optimizer.lr", "data.batch_size", "model.net.lin1_size",
                                           "model.net.lin2_size", "model.net.lin3_size"}
    from hydra_skopt_sweeper.plots import load_sweep

    record = load_sweep(tmp_path)
    assert record.objective_name == "val/acc_best"  # the plots' axis label
    assert record.n_calls == 8  # n_trials, as the sweep read it: the report says "complete"


def test_a_template_sweep_whose_every_trial_fails_exits_non_zero(tmp_path):
    done = template_sweep(tmp_path, "hydra.sweeper.n_trials=3", "fail=true")
    assert done.returncode != 0
    assert "Every trial failed (3)" in done.stderr and "the datamodule could not be set up" in done.stderr


def test_the_converter_writes_a_file_that_sweeps_without_the_optuna_sweeper(tmp_path):
    import shutil

    app = tmp_path / "app"
    shutil.copytree(TEMPLATE_APP.parent, app)
    original = app / "configs" / "hparams_search" / "mnist_optuna.yaml"
    # as the template ships it: the _target_ pinned to the Optuna sweeper
    text = original.read_text().replace("  sweeper:\n", "  sweeper:\n    _target_: hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper\n", 1)
    original.write_text(text)
    target = app / "configs" / "hparams_search" / "mnist_skopt.yaml"
    done = subprocess.run([sys.executable, "-m", "hydra_skopt_sweeper.compat", str(original), "-o", str(target)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    converted = yaml.safe_load(target.read_text())
    assert converted["defaults"] == [{"override /hydra/sweeper": "skopt_gp"}]
    assert "_target_" not in converted["hydra"]["sweeper"] and converted["hydra"]["sweeper"]["maximize"] is True
    assert target.read_text().startswith("# @package _global_\n")
    swept = subprocess.run([sys.executable, str(app / "train.py"), "hparams_search=mnist_skopt",
                            f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra.sweeper.n_calls=4"],
                           capture_output=True, text=True, timeout=300)
    assert swept.returncode == 0, swept.stderr
    assert len((tmp_path / "sweep" / "trials.jsonl").read_text().splitlines()) == 4


def test_the_converter_refuses_what_it_cannot_honour(tmp_path):
    source = tmp_path / "multi.yaml"
    source.write_text("hydra:\n  sweeper:\n    direction: [minimize, maximize]\n")
    done = subprocess.run([sys.executable, "-m", "hydra_skopt_sweeper.compat", str(source)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "several objectives are not supported" in done.stderr
