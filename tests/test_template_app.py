"""An app of lightning-hydra-template's shape (tests/apps/template: a Hydra + Lightning app with
an hparams_search group holding the template's own Optuna file, optimized_metric, a train()
returning the metrics) swept under skopt_gp in subprocesses, modelled on the template's
tests/test_sweeps.py: results and exit codes.

Skipped only when pytorch_lightning cannot be imported (the `example` extra).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# every test here runs a real sweep in a subprocess (or a real engine): not in make test-fast
pytestmark = pytest.mark.slow

pytest.importorskip("pytorch_lightning", reason="the template app needs pytorch-lightning (pip install -e '.[example]')")

TEMPLATE_APP = Path(__file__).parent / "apps" / "template" / "train.py"
# one torch thread per trial (the app leaves torch its default of one per CPU, which on a loaded
# machine costs over twice the CPU for the same results); no test here looks at the pictures
ONE_THREAD = dict(os.environ, OMP_NUM_THREADS="1")
NO_PLOTS = "hydra.sweeper.plots=false"


def run_app(app: Path, *overrides: str) -> subprocess.CompletedProcess:
    # no -Werror: Lightning's own warnings (few dataloader workers) are not the sweeper's
    return subprocess.run([sys.executable, str(app), NO_PLOTS, *overrides],
                          capture_output=True, text=True, timeout=300, env=ONE_THREAD)


def template_sweep(sweep_dir, *overrides):
    return run_app(TEMPLATE_APP, "hparams_search=mnist_optuna", "hydra/sweeper=skopt_gp",
                   f"hydra.sweep.dir={sweep_dir}", *overrides)


def test_the_templates_optuna_file_runs_under_skopt_gp_and_maximises(tmp_path):
    done = template_sweep(tmp_path, "hydra.sweeper.n_trials=4")  # hydra.mode=MULTIRUN is in the file
    assert done.returncode == 0, done.stderr
    log = done.stdout + done.stderr
    assert "Optuna sweeper keys: mapped direction=maximize -> maximize=true, n_trials=4 -> n_calls=4" in log
    assert "ignored sampler._target_ (optuna.samplers.TPESampler)" in log
    assert "skopt_gp: maximising val/acc_best" in log
    records = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert results["maximize"] is True and results["best_value"] == max(r["value"] for r in records)
    assert set(results["best_params"]) == {"model.optimizer.lr", "data.batch_size", "model.net.lin1_size",
                                           "model.net.lin2_size", "model.net.lin3_size"}
    from hydra_skopt_sweeper.insight.sweep_record import load_sweep

    record = load_sweep(tmp_path)
    assert record.objective_name == "val/acc_best"  # the plots' axis label
    assert record.n_calls == 4  # n_trials, as the sweep read it: the report says "complete"


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
    done = subprocess.run([sys.executable, "-m", "hydra_skopt_sweeper.doors.optuna", str(original), "-o", str(target)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    converted = yaml.safe_load(target.read_text())
    assert converted["defaults"] == [{"override /hydra/sweeper": "skopt_gp"}]
    assert "_target_" not in converted["hydra"]["sweeper"] and converted["hydra"]["sweeper"]["maximize"] is True
    assert target.read_text().startswith("# @package _global_\n")
    swept = run_app(app / "train.py", "hparams_search=mnist_skopt", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                    "hydra.sweeper.n_calls=4")
    assert swept.returncode == 0, swept.stderr
    assert len((tmp_path / "sweep" / "trials.jsonl").read_text().splitlines()) == 4
