"""Pruning: the rules on hand-made curves, report() and the curve files, and real sweeps whose
trials report learning curves (tests/apps/sphere/app.py with ``curve_steps``) through the
joblib and submitit_local launchers.
"""
import json
import sys
from pathlib import Path

import pytest
from hydra.test_utils.test_utils import run_python_script

from hydra_skopt_sweeper import TrialPruned, report
from hydra_skopt_sweeper.records.curves import append_point, read_curve, read_curves, value_at
from hydra_skopt_sweeper.trial.pruning import Pruner, hyperband_bracket, should_prune
from tests.killing import kill_when

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
SH = Pruner("successive_halving", min_steps=1, reduction_factor=2, min_trials=2)


def flat(value, steps):
    return [(s, value) for s in range(steps)]


# -- the rules -----------------------------------------------------------------------------------

def test_a_curve_is_worth_its_best_value_so_far_in_the_sweeps_direction():
    curve = [(0, 3.0), (1, 1.0), (2, 2.0)]
    assert value_at(curve, 2, maximize=False) == 1.0 and value_at(curve, 0, maximize=False) == 3.0
    assert value_at(curve, 2, maximize=True) == 3.0
    assert value_at(curve, 3, maximize=False) is None  # never got there


def test_successive_halving_rungs_grow_by_the_reduction_factor():
    assert Pruner("successive_halving", min_steps=2, reduction_factor=3).rungs(60) == [2, 6, 18, 54]


def test_successive_halving_keeps_the_best_fraction_at_a_rung():
    curves = {0: flat(1.0, 2), 1: flat(2.0, 2), 2: flat(3.0, 2), 3: flat(4.0, 2)}
    # at rung 1 the best half of four (1.0, 2.0) goes on
    assert [should_prune(SH, curves, n, maximize=False) for n in range(4)] == [False, False, True, True]
    assert [should_prune(SH, curves, n, maximize=True) for n in range(4)] == [True, True, False, False]


def test_successive_halving_decides_only_when_a_rung_is_reached_and_min_trials_are_there():
    curves = {0: flat(1.0, 3), 1: flat(5.0, 3)}
    assert should_prune(SH, curves, 1, False)  # its last report, step 2, is rung 2 (rungs 1, 2, 4)
    curves = {0: flat(1.0, 4), 1: flat(5.0, 4)}
    assert not should_prune(SH, curves, 1, False)  # step 3 is between rungs 2 and 4
    alone = {1: flat(5.0, 2)}
    assert not should_prune(SH, alone, 1, False)  # one trial at the rung, min_trials=2


def test_successive_halving_keeps_at_least_one_and_ties_go_on():
    curves = {0: flat(2.0, 2), 1: flat(2.0, 2), 2: flat(2.0, 2)}
    assert not any(should_prune(SH, curves, n, False) for n in range(3))  # ties with the threshold
    curves = {0: flat(1.0, 2), 1: flat(3.0, 2), 2: flat(2.0, 2)}
    pruner = Pruner("successive_halving", min_steps=1, reduction_factor=4, min_trials=2)
    assert [should_prune(pruner, curves, n, False) for n in range(3)] == [False, True, True]


def test_median_rule_waits_for_warmup_and_min_trials_then_stops_the_worse_half():
    median = Pruner("median", warmup_steps=2, min_trials=2)
    curves = {0: flat(1.0, 3), 1: flat(3.0, 3), 2: flat(5.0, 3)}
    assert [should_prune(median, curves, n, False) for n in range(3)] == [False, False, True]
    assert [should_prune(median, curves, n, True) for n in range(3)] == [True, False, False]
    early = {0: flat(1.0, 2), 1: flat(3.0, 2), 2: flat(5.0, 2)}
    assert not should_prune(median, early, 2, False)  # step 1 < warmup_steps=2
    few = {0: flat(1.0, 3), 2: flat(5.0, 3)}
    assert not should_prune(median, few, 2, False)  # one other trial, min_trials=2


@pytest.mark.parametrize("config, message", [
    ({"rule": "asha"}, "hydra.sweeper.pruner.rule='asha': must be one of successive_halving, median, hyperband, forecast"),
    ({"rule": "forecast", "p_stop": 0.5}, "hydra.sweeper.pruner.p_stop=0.5: must be a number above 0 and below 0.5"),
    ({"rule": "forecast", "p_stop": "low"}, "hydra.sweeper.pruner.p_stop='low': must be a number above 0 and below 0.5"),
    ({"rule": "hyperband", "max_steps": 0}, "hydra.sweeper.pruner.max_steps=0: must be an integer >= 1"),
    ({"rule": "successive_halving", "reduction_factor": 1}, "hydra.sweeper.pruner.reduction_factor=1: must be an integer >= 2"),
    ({"rule": "successive_halving", "min_steps": 0}, "hydra.sweeper.pruner.min_steps=0: must be an integer >= 1"),
    ({"rule": "median", "min_trials": 0}, "hydra.sweeper.pruner.min_trials=0: must be an integer >= 1"),
    ({"rule": "median", "warmup_steps": 1.5}, "hydra.sweeper.pruner.warmup_steps=1.5: must be an integer >= 0"),
])
def test_bad_pruner_settings_are_refused_naming_the_field(config, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        Pruner.from_config(config)


def test_a_null_rule_is_off():
    assert Pruner.from_config(None) is None and Pruner.from_config({"rule": None, "min_trials": 3}) is None


# -- report() and the curve files ------------------------------------------------------------------

def test_report_outside_a_sweep_records_nothing_and_never_prunes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for step in range(3):
        report(step, 1.0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("step, value, message", [
    (0, float("nan"), "the value must be finite"),
    (0, "high", "the value must be a number"),
    (-1, 1.0, "the step must be an integer >= 0"),
    (1.5, 1.0, "the step must be an integer >= 0"),
])
def test_report_refuses_a_bad_step_or_value(step, value, message):
    with pytest.raises(ValueError, match=message):
        report(step, value)


def test_a_torn_last_line_is_skipped_and_the_next_point_starts_a_fresh_line(tmp_path):
    path = tmp_path / ".curves" / "3.jsonl"
    append_point(path, 0, 1.5)
    with open(path, "a") as handle:
        handle.write('{"step": 1, "val')  # a kill in the middle of a write
    assert read_curve(path) == [(0, 1.5)]
    append_point(path, 2, 0.5)
    assert read_curve(path) == [(0, 1.5), (2, 0.5)]
    assert read_curves(tmp_path) == {3: [(0, 1.5), (2, 0.5)]}


def test_trial_pruned_is_an_exception_an_app_can_catch():
    assert issubclass(TrialPruned, Exception)


# -- real sweeps -----------------------------------------------------------------------------------

def command(sweep_dir, *overrides):
    return [str(APP), "-m", "hydra/sweeper=skopt_gp", f"hydra.sweep.dir={sweep_dir}",
            "hydra.sweeper.random_state=0", "hydra.sweeper.plots=false", *overrides]


def journal(sweep_dir):
    return [json.loads(line) for line in (Path(sweep_dir) / "trials.jsonl").read_text().splitlines()]


# 8 trials; successive halving at rungs 1, 2, 4 keeps the best half of 2 or more
PRUNING = ["x=interval(-2, 2)", "y=interval(-2, 2)", "hydra.sweeper.n_calls=8",
           "hydra.sweeper.n_initial_points=4", "hydra.sweeper.pruner.rule=successive_halving",
           "hydra.sweeper.pruner.min_steps=1", "hydra.sweeper.pruner.reduction_factor=2",
           "hydra.sweeper.pruner.min_trials=2"]
# 8 steps per trial
CURVES = [*PRUNING, "curve_steps=8"]


# each shared sweep runs once for the tests that read it (tests/conftest.py keeps them on one worker)
@pytest.fixture(scope="module")
def pruned_joblib_sweep(tmp_path_factory):
    """A pruning sweep through joblib, max_failures=1 (which pruned trials must not reach): its
    dir and its stdout."""
    sweep_dir = tmp_path_factory.mktemp("pruned")
    out, _ = run_python_script(command(sweep_dir, *CURVES, "curve_sleep=0.05", "hydra.sweeper.max_failures=1",
                                       *JOBLIB))
    return sweep_dir, out


@pytest.fixture(scope="module")
def unpruned_sweep(tmp_path_factory):
    """The pruning sweep with its rule null, and 200 steps a trial reported with no sleep: the two
    workers append to their curves as fast as they can. Its dir."""
    sweep_dir = tmp_path_factory.mktemp("unpruned")
    run_python_script(command(sweep_dir, *PRUNING, "curve_steps=200", "hydra.sweeper.pruner.rule=null", *JOBLIB))
    return sweep_dir


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_poor_trials_are_pruned_and_recorded_with_their_curves(request, tmp_path, launcher):
    if launcher == "joblib":
        sweep_dir, out = request.getfixturevalue("pruned_joblib_sweep")
    else:
        pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
        overrides = ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", "hydra.sweeper.batch_size=2"]
        sweep_dir = tmp_path
        out, _ = run_python_script(command(sweep_dir, *CURVES, "curve_sleep=0.05", *overrides))
    records = sorted(journal(sweep_dir), key=lambda r: r["number"])
    assert len(records) == 8
    pruned = [r for r in records if r["status"] == "pruned"]
    done = [r for r in records if r["status"] == "ok"]
    assert pruned and done
    curves = read_curves(sweep_dir)
    for record in records:
        curve = curves[record["number"]]
        assert [s for s, _ in curve] == list(range(record["step"] + 1))
        if record["status"] == "pruned":  # stopped early, with its best value so far
            assert record["step"] < 7 and record["value"] == pytest.approx(min(v for _, v in curve))
            assert record["error"] is None
        else:
            assert record["step"] == 7
    summary = json.loads(json.dumps(__import__("yaml").safe_load((sweep_dir / "optimization_results.yaml").read_text())))
    assert summary["n_pruned"] == len(pruned) and summary["n_failed"] == 0
    assert summary["best_trial"] in {r["number"] for r in done}
    assert f"{len(pruned)} pruned" in out and " pruned at step " in out
    # the value on a pruned trial's line is its own, not the sweep's best so far
    first = min(pruned, key=lambda r: r["number"])
    assert f"(its own best before it was stopped: {first['value']:.6g})" in out
    header = (sweep_dir / "trials.csv").read_text().splitlines()[0].split(",")
    assert "status" in header and "step" in header


@pytest.mark.slow
def test_a_pruned_trial_is_no_failure_for_max_failures(pruned_joblib_sweep):
    records = journal(pruned_joblib_sweep[0])
    assert len(records) == 8 and any(r["status"] == "pruned" for r in records)


@pytest.mark.slow
def test_pruning_off_still_records_every_curve(unpruned_sweep):
    records = journal(unpruned_sweep)
    assert all(r["status"] == "ok" and r["step"] == 199 for r in records)
    assert len(read_curves(unpruned_sweep)) == 8


@pytest.mark.slow
def test_two_jobs_reporting_at_once_keep_their_own_curves(unpruned_sweep):
    curves = read_curves(unpruned_sweep)
    assert sorted(curves) == list(range(8))
    for number, curve in curves.items():
        assert [s for s, _ in curve] == list(range(200))
    for path in (unpruned_sweep / ".curves").iterdir():
        assert all(json.loads(line) for line in path.read_text().splitlines())


@pytest.mark.slow
def test_kill_9_then_resume_keeps_every_curve_and_prunes_against_them(tmp_path):
    overrides = [*CURVES, "curve_sleep=0.1", *JOBLIB]
    path = tmp_path / "trials.jsonl"

    def running_with_a_curve():  # three trials journaled, and a running one has reported
        done = len(path.read_text().splitlines()) if path.is_file() else 0
        return done >= 3 and len(read_curves(tmp_path)) > done

    kill_when(command(tmp_path, *overrides), running_with_a_curve)
    before = {n: list(c) for n, c in read_curves(tmp_path).items()}
    n_before = len(journal(tmp_path))
    assert 3 <= n_before < 8 and len(before) > n_before  # some curves belong to killed trials
    run_python_script(command(tmp_path, *overrides))
    after = read_curves(tmp_path)
    for number, curve in before.items():  # nothing lost, nothing rewritten
        assert after[number][:len(curve)] == curve
    assert len(journal(tmp_path)) == 8


def test_report_is_the_function_even_after_every_module_is_imported():
    import hydra_skopt_sweeper.sweep.loop  # noqa: F401
    import hydra_skopt_sweeper.insight.sweep_report  # noqa: F401  (skopt-report)

    from hydra_skopt_sweeper import report as imported

    assert imported is report and callable(imported)


def test_the_lightning_callback_derives_from_every_lightning_package_the_app_imported(monkeypatch):
    import types

    from hydra_skopt_sweeper.trial import lightning as callback_module

    fakes = {}
    for name in ("pytorch_lightning", "lightning.pytorch"):
        module = types.ModuleType(name)
        module.Callback = type("Callback", (), {})
        fakes[name] = module
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(callback_module, "_classes", {})
    callback = callback_module.PruningCallback("val_loss", "min")
    assert all(isinstance(callback, fake.Callback) for fake in fakes.values())  # either Trainer accepts it
    monkeypatch.delitem(sys.modules, "lightning.pytorch")
    only = callback_module.PruningCallback("val_loss", "min")
    assert isinstance(only, fakes["pytorch_lightning"].Callback)
    assert not isinstance(only, fakes["lightning.pytorch"].Callback)  # lightning was never imported
    with pytest.raises(ValueError, match="mode='up'"):
        callback_module.PruningCallback("val_loss", "up")


# -- hyperband ------------------------------------------------------------------------------------

HB = Pruner("hyperband", min_steps=1, reduction_factor=2, min_trials=2, max_steps=8)


def test_hyperband_brackets_start_their_rungs_a_factor_apart_and_share_the_steps_as_hyperband_does():
    # rungs 1, 2, 4 before 8 steps: 4 brackets; the last has no rung before the end
    assert HB.brackets(8) == [8, 8, 4, 4]  # ceil(4 / (s + 1)) * 2**s, s = 3, 2, 1, 0
    assert [HB.rungs(7, bracket) for bracket in range(4)] == [[1, 2, 4], [2, 4], [4], []]
    assert Pruner("hyperband", min_steps=4, reduction_factor=3).brackets(27) == [9, 6, 3]


def test_hyperband_brackets_take_turns_as_often_as_their_share():
    shares = HB.brackets(8)
    first_round = [hyperband_bracket(n, shares) for n in range(sum(shares))]
    assert [first_round.count(b) for b in range(4)] == shares
    assert set(first_round[:6]) == {0, 1, 2, 3}  # the first trials already reach every bracket
    assert [hyperband_bracket(n + sum(shares), shares) for n in range(sum(shares))] == first_round


def test_hyperband_compares_a_trial_only_with_its_own_bracket():
    shares = HB.brackets(8)
    zeros = [n for n in range(40) if hyperband_bracket(n, shares) == 0][:3]
    last = [n for n in range(40) if hyperband_bracket(n, shares) == 3][:3]
    curves = {zeros[0]: flat(1.0, 2), zeros[1]: flat(2.0, 2)}  # bracket 0's first rung is step 1
    assert should_prune(HB, curves, zeros[1], False)
    # a far better trial of another bracket does not count at bracket 0's rungs
    curves = {zeros[0]: flat(3.0, 2), zeros[1]: flat(2.0, 2), last[0]: flat(0.0, 2)}
    assert not should_prune(HB, curves, zeros[1], False) and should_prune(HB, curves, zeros[0], False)
    # the last bracket's trials are never stopped, however poor, at any step
    for steps in range(1, 8):
        curves = {last[0]: flat(0.0, steps), last[1]: flat(0.5, steps), last[2]: flat(9.0, steps)}
        assert not any(should_prune(HB, curves, n, False) for n in last), steps


def test_hyperband_waits_for_a_completed_trial_when_max_steps_is_not_set():
    auto = Pruner("hyperband", min_steps=1, reduction_factor=2, min_trials=2)
    first, second = [n for n in range(40) if hyperband_bracket(n, auto.brackets(8)) == 0][:2]
    curves = {first: flat(1.0, 8), second: flat(2.0, 2)}
    assert not should_prune(auto, curves, second, False)  # nothing completed: no full length known
    assert should_prune(auto, curves, second, False, completed=[first])  # it ran its 8 steps


@pytest.mark.slow
def test_a_hyperband_sweep_stops_trials_only_in_brackets_with_rungs_and_never_before_one_completed(tmp_path):
    from hydra_skopt_sweeper.records.journal import read_trials
    from tests.inprocess import multirun

    log = multirun(APP, tmp_path, [
        "hydra/sweeper=skopt_gp", "hydra.sweeper.random_state=0", "hydra.sweeper.plots=false",
        "x=interval(-2, 2)", "y=interval(-2, 2)", "curve_steps=8", "hydra.sweeper.n_calls=12",
        "hydra.sweeper.n_initial_points=4", "hydra.sweeper.pruner.rule=hyperband",
        "hydra.sweeper.pruner.min_steps=1", "hydra.sweeper.pruner.reduction_factor=2",
        "hydra.sweeper.pruner.min_trials=2"])
    trials = sorted(read_trials(tmp_path / "trials.jsonl"), key=lambda t: t.number)
    shares = Pruner("hyperband", min_steps=1, reduction_factor=2).brackets(8)
    pruned = [t for t in trials if t.pruned]
    assert len(trials) == 12 and pruned, [(t.number, t.status, t.step) for t in trials]
    assert trials[0].ok and trials[0].step == 7  # the full length is learnt from a completed trial
    assert all(hyperband_bracket(t.number, shares) < len(shares) - 1 for t in pruned)
    assert f"#{pruned[0].number} pruned at step {pruned[0].step} " in log
