"""Integration tests: real multiruns of a small Hydra app.

A sweep under the basic launcher runs in this process (tests/inprocess.py); one under joblib runs
through Hydra's ``run_python_script`` (``python -Werror app.py -m ...``), so a warning raised by
the sweeper fails the test too.
"""
import json
import math
from pathlib import Path
from typing import List, Tuple

import pytest
import yaml
from hydra.test_utils.test_utils import run_python_script

from hydra_skopt_sweeper.insight.sweep_record import load_sweep
from hydra_skopt_sweeper.insight.sweep_report import format_report
from tests import inprocess
from tests.waiting import wait_for_files

# every test here runs a real sweep in a subprocess (or a real engine): not in make test-fast
pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
}


def sweep(sweep_dir: Path, *overrides: str, launcher: str = "basic", plots: bool = False):
    """The sweep's (stdout, stderr): in this process under the basic launcher (tests/inprocess.py;
    the pictures are drawn in a process of their own either way), else in a subprocess. The
    pictures are drawn only where a test looks at them."""
    overrides = ("hydra/sweeper=skopt_gp", "hydra.sweeper.random_state=0",
                 f"hydra.sweeper.plots={str(plots).lower()}", *LAUNCHERS[launcher], *overrides)
    return inprocess.sweep(APP, sweep_dir, overrides)


def journal(sweep_dir: Path) -> List[dict]:
    return [json.loads(line) for line in (sweep_dir / "trials.jsonl").read_text().splitlines()]


def results(sweep_dir: Path) -> dict:
    return yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())


def job_overrides(job_dir: str) -> List[str]:
    return yaml.safe_load((Path(job_dir) / ".hydra" / "overrides.yaml").read_text())


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_sphere_reaches_the_optimum_and_writes_every_file(tmp_path, launcher):
    n_calls = 12  # the initial design comes within 0.1 of the optimum; the GP then closes in
    sweep(tmp_path, "x=interval(-2, 2)", "y=interval(-2, 2)", f"hydra.sweeper.n_calls={n_calls}",
          "hydra.sweeper.n_initial_points=6", "hydra.sweeper.acq_func=EI", launcher=launcher)
    records = sorted(journal(tmp_path), key=lambda r: r["number"])  # async: in the order they returned
    assert [r["number"] for r in records] == list(range(n_calls))
    assert all(r["status"] == "ok" for r in records)
    summary = results(tmp_path)
    assert summary["name"] == "skopt_gp" and summary["n_trials"] == n_calls and summary["n_failed"] == 0
    assert summary["best_value"] <= 0.5
    assert summary["best_value"] == min(r["value"] for r in records)
    assert set(summary["best_params"]) == {"x", "y"}
    # written at the end: x's range holds more of the sphere's variation than y's
    assert list(summary["importance"]) == ["x", "y"]
    assert summary["importance"]["x"]["total"] > summary["importance"]["y"]["total"] > 0.1
    # noise-free: the model's pick is a successful trial, and it predicts about what it returned
    recommended = next(r for r in records if r["number"] == summary["recommended_trial"])
    assert recommended["params"] == summary["recommended_params"]
    assert summary["recommended_value"] == pytest.approx(recommended["value"], abs=0.05)
    job_dirs = sorted(Path(r["job_dir"]) for r in records)
    assert len(job_dirs) == n_calls and all(d.is_dir() for d in job_dirs)
    # each job received exactly the params recorded for it, without loss
    for record in records:
        got = job_overrides(record["job_dir"])
        assert got == [f"x={record['params']['x']!r}", f"y={record['params']['y']!r}"]
        assert (Path(record["job_dir"]) / "overrides.txt").read_text().startswith(
            f"x={record['params']['x']!r} y={record['params']['y']!r}")


@pytest.fixture(scope="module")
def joblib_batches(tmp_path_factory) -> Tuple[Path, str]:
    """A sweep under joblib in batches, some of its trials raising, its pictures drawn: (sweep
    dir, what it printed). Its batches and its pictures are two tests'."""
    sweep_dir = tmp_path_factory.mktemp("joblib_batches")
    # x, y in [-2, 2]: values from 0 to 11.25, those above 2 fail
    out, err = sweep(sweep_dir, "x=interval(-2, 2)", "y=interval(-2, 2)", "fail_above=2.0",
                     "hydra.sweeper.n_calls=6", "hydra.sweeper.n_initial_points=4",
                     "hydra.sweeper.scheduling=batch", launcher="joblib", plots=True)
    return sweep_dir, out + err


def test_joblib_batches_follow_n_jobs_in_reused_processes_and_go_on_after_a_trial_raises(joblib_batches):
    sweep_dir, out = joblib_batches
    assert "Batch 3: launching 2 trial(s) #4-#5" in out
    assert "Batch 4" not in out
    assert "Joblib.Parallel(n_jobs=2" in out
    records = journal(sweep_dir)
    pids = {(Path(r["job_dir"]) / "pid.txt").read_text() for r in records}
    assert len(pids) == 2, "two loky workers, each reused across batches"
    # a trial that raises in a worker is recorded, and the batches after it run
    assert len(records) == 6
    failed = [r for r in records if r["status"] == "failed"]
    assert failed, "x, y in [-2, 2] give values above 2 somewhere in the initial design"
    assert min(r["number"] for r in failed) < 4
    assert all("RuntimeError" in r["error"] and r["value"] is None for r in failed)
    assert results(sweep_dir)["n_failed"] == len(failed)


def test_every_search_space_form_and_plain_overrides(tmp_path):
    sweep(
        tmp_path,
        "x=tag(log, interval(0.01, 2))", "n=range(2, 11, 4)", "opt=choice(adam,sgd,rmsprop)",
        "word=plain,'two words'", "y=0.25",
        "hydra.sweeper.n_calls=6", "hydra.sweeper.n_initial_points=3", "hydra.sweeper.batch_size=3",
    )
    records = journal(tmp_path)
    assert len(records) == 6
    seen_opts = set()
    for record in records:
        params = record["params"]
        assert 0.01 <= params["x"] <= 2 and params["n"] in (2, 6, 10)
        assert params["word"] in ("plain", "two words")
        seen_opts.add(params["opt"])
        text = (Path(record["job_dir"]) / "overrides.txt").read_text()
        assert f"y=0.25 n={params['n']} opt={params['opt']} word={params['word']!r}" in text
        assert "y=0.25" in job_overrides(record["job_dir"])
    assert len(seen_opts) >= 2


def test_params_from_config_including_skopt_mappings(tmp_path):
    sweep(tmp_path, "+search=mapping")  # tests/apps/sphere/search/mapping.yaml
    records = journal(tmp_path)
    assert len(records) == 4
    for record in records:
        params = record["params"]
        assert set(params) == {"x", "n", "opt", "y"}
        assert isinstance(params["n"], int) and 1 <= params["n"] <= 6
        assert params["opt"] in ("adam", "sgd") and 0.01 <= params["y"] <= 1


def test_command_line_sweep_replaces_the_configs_entry(tmp_path):
    sweep(tmp_path, "+search=mapping", "opt=choice(rmsprop)", "x=interval(5, 6)")
    for record in journal(tmp_path):
        assert "opt" not in record["params"] and 5 <= record["params"]["x"] <= 6
        assert "opt=rmsprop" in job_overrides(record["job_dir"])


def test_constraint_is_never_broken_the_initial_design_included(tmp_path):
    sweep(tmp_path, "n=int(interval(1, 64))", "x=interval(-2, 2)",
          "hydra.sweeper.constraint='n % 8 == 0 and x >= 0'",
          "hydra.sweeper.n_calls=7", "hydra.sweeper.n_initial_points=5",
          "hydra.sweeper.batch_size=2")  # the initial design, then one batch the GP chose
    records = journal(tmp_path)
    assert len(records) == 7
    for record in records:
        assert record["params"]["n"] % 8 == 0 and record["params"]["x"] >= 0


def test_maximize_is_honoured_in_the_results(tmp_path):
    sweep(tmp_path, "x=interval(-2, 2)", "y=interval(-2, 2)", "mode=neg",
          "hydra.sweeper.maximize=true", "hydra.sweeper.n_calls=6",
          "hydra.sweeper.n_initial_points=5")
    records = journal(tmp_path)
    summary = results(tmp_path)
    assert summary["best_value"] == max(r["value"] for r in records)
    assert summary["best_value"] >= -0.5


@pytest.mark.parametrize("mode, monitor", [("mapping", "val_loss"), ("numpy", None)])
def test_mappings_and_numpy_scalars_feed_the_gp(tmp_path, mode, monitor):
    extra = [f"hydra.sweeper.monitor={monitor}"] if monitor else []
    sweep(tmp_path, "x=interval(-2, 2)", f"mode={mode}", "hydra.sweeper.n_calls=3",
          "hydra.sweeper.n_initial_points=2", *extra)
    values = [r["value"] for r in journal(tmp_path)]
    assert len(values) == 3 and all(isinstance(v, float) and math.isfinite(v) for v in values)


def test_the_sweep_leaves_its_plots_in_the_sweep_dir(joblib_batches):
    sweep_dir, printed = joblib_batches
    # the sweep waits a few seconds for its last drawing; on a busy machine it ends after
    wait_for_files(sweep_dir / name for name in ("convergence.png", "objective.png"))
    for name in ("convergence.png", "objective.png"):
        png = (sweep_dir / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000, name
    # the end names the pictures there by then, or says the last drawing goes on
    assert (f"Plots: {sweep_dir / 'convergence.png'}" in printed
            or f"Plots: none yet in {sweep_dir} (still being drawn" in printed)


@pytest.mark.parametrize("space, n_points, plots", [
    (["opt=choice(adam,sgd)"], 2, False),
    # a constraint that leaves 3 of the 2 x 3 points; its end draws the pictures (one drawing process will do)
    (["opt=choice(adam,sgd,rmsprop)", "word=choice(a,b)", "hydra.sweeper.constraint='word == \"a\"'"], 3, True),
])
def test_a_finite_space_runs_each_point_once_and_finishes_normally(tmp_path, space, n_points, plots):
    out, err = sweep(tmp_path, *space, "hydra.sweeper.n_calls=6", "hydra.sweeper.n_initial_points=2", plots=plots)
    records = journal(tmp_path)
    assert len(records) == n_points
    assert len({json.dumps(r["params"], sort_keys=True) for r in records}) == n_points
    assert f"The search space is exhausted after {n_points} trial(s)" in out + err
    assert "Sweep finished" in out + err
    assert results(tmp_path)["n_trials"] == n_points and results(tmp_path)["exhausted"] is True
    assert (tmp_path / "trials.csv").is_file()
    if plots:
        wait_for_files([tmp_path / "convergence.png"])
    # complete, not "still running, or stopped early": the same command would find nothing left
    report = format_report(load_sweep(tmp_path))
    assert f"complete: the search space is exhausted after {n_points} of n_calls=6" in report


def test_n_initial_points_above_n_calls_is_capped_with_a_line(tmp_path):
    out, err = sweep(tmp_path, "x=interval(-2, 2)", "hydra.sweeper.n_calls=3")
    assert "hydra.sweeper.n_initial_points=10 is more than n_calls=3: using 3" in out + err
    assert len(journal(tmp_path)) == 3


@pytest.mark.parametrize("options, values", [("1,true", [1, True]), ("0,0.0", [0, 0.0])])
def test_choices_are_matched_by_type_as_well_as_value(tmp_path, options, values):
    # True == 1 and 0 == 0.0 in Python; as options they differ, in the overrides and the journal
    sweep(tmp_path, f"+extra=choice({options})", "hydra.sweeper.n_calls=4", "hydra.sweeper.n_initial_points=2")
    records = journal(tmp_path)
    assert len(records) == 2
    got = sorted(((type(r["params"]["extra"]).__name__, r["params"]["extra"]) for r in records), key=str)
    assert got == sorted(((type(v).__name__, v) for v in values), key=str)
    text = {("bool", True): "true", ("int", 1): "1", ("int", 0): "0", ("float", 0.0): "0.0"}
    for record in records:
        value = record["params"]["extra"]
        assert f"+extra={text[type(value).__name__, value]}" in job_overrides(record["job_dir"])


def test_no_search_space_runs_the_config_once(tmp_path):
    sweep(tmp_path, "x=0.5")
    records = journal(tmp_path)
    assert len(records) == 1 and records[0]["status"] == "ok"
    assert records[0]["value"] == pytest.approx(0.5 ** 2 + 0.5 ** 2)
    assert Path(records[0]["job_dir"]).name == "0"


def test_no_search_space_runs_again_in_the_same_sweep_dir(tmp_path):
    # nothing to resume: as with Hydra's basic sweeper, a rerun runs job 0 again
    sweep(tmp_path, "x=0.5")
    sweep(tmp_path, "x=1.0")
    (record,) = journal(tmp_path)
    assert record["number"] == 0 and record["value"] == pytest.approx(0.0 ** 2 + 0.5 ** 2)
    assert results(tmp_path)["best_value"] == pytest.approx(0.25)
    (aside,) = tmp_path.glob("trials.*.jsonl")  # the first run's journal, kept
    assert json.loads(aside.read_text())["value"] == pytest.approx(0.5)


def test_none_returned_is_a_failed_trial_not_a_crash(tmp_path):
    # with no search space the exit status is the basic sweeper's: an app may return nothing
    sweep(tmp_path, "mode=none")
    (record,) = journal(tmp_path)
    assert record["status"] == "failed" and "returned None" in record["error"]


def test_cfg_hydra_shows_every_field_with_its_default():
    out, _ = run_python_script([str(APP), "hydra/sweeper=skopt_gp", "--cfg", "hydra"])
    sweeper = yaml.safe_load(out)["hydra"]["sweeper"]
    assert sweeper == {
        "_target_": "hydra_plugins.hydra_skopt_sweeper.skopt_sweeper.SkoptSweeper", "_recursive_": False,
        "params": {}, "n_calls": 50, "step_budget": None, "n_initial_points": 10, "initial_point_generator": "sobol",
        "plots": True, "batch_size": None, "scheduling": "async", "devices": None,
        "device_override": "trainer.devices=[{device}]",
        "pruner": {"rule": "successive_halving", "min_steps": 4, "reduction_factor": 3, "max_steps": None,
                   "warmup_steps": 5, "min_trials": 4, "p_stop": 0.05, "p_resume": None},
        "batch_strategy": "fantasies", "acq_func": "EI",
        "acq_optimizer": "auto", "base_estimator": "GP", "maximize": None, "monitor": None,
        "metric_constraints": [], "reference_point": None, "constraint": None, "on_failure": "penalize", "max_failures": None,
        "random_state": None, "resume": True, "warm_start": [],
        # the Optuna sweeper's keys, read by hydra_skopt_sweeper.doors.optuna
        "direction": None, "n_trials": None, "n_jobs": None, "sampler": None, "max_failure_rate": None,
        "storage": None, "study_name": None, "search_space": None, "custom_search_space": None,
        "experiment_sequence": None,
    }


def test_a_conditional_parameter_is_searched_and_passed_only_where_its_condition_holds(tmp_path):
    sweep(tmp_path, "+search=conditional")  # tests/apps/sphere/search/conditional.yaml
    records = journal(tmp_path)
    assert len(records) == 12 and all(r["status"] == "ok" for r in records)
    for record in records:
        received = (Path(record["job_dir"]) / "overrides.txt").read_text()
        if record["params"]["opt"] == "sgd":
            assert f"momentum={record['params']['momentum']!r}" in received
        else:
            assert "momentum" not in record["params"] and "momentum=None" in received
            assert not any(o.startswith("momentum=") for o in job_overrides(record["job_dir"]))
    assert {r["params"]["opt"] for r in records} == {"adam", "sgd"}
    best = results(tmp_path)["best_params"]
    assert best["opt"] == "sgd" and abs(best["momentum"] - 0.9) < 0.15, best
    # resume: the trials without momentum are read back and told again
    out, err = sweep(tmp_path, "+search=conditional", "hydra.sweeper.n_calls=14")
    assert len(journal(tmp_path)) == 14 and "does not fit the space" not in out + err
