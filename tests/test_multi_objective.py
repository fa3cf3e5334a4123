"""Several objectives, end to end: real multiruns in subprocesses of the Optuna sweeper's
multi-objective example (tests/apps/optuna_binh_korn) and of an app that returns a mapping
(tests/apps/two_objectives): the front written, async workers, kill -9 and resume, the
refusals before any launch, and the trials that return the wrong shape.

Each sweep runs through Hydra's ``run_python_script`` (``python -Werror app.py -m ...``), so a
warning raised by the sweeper fails the test too.
"""
import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import pytest
import yaml

from tests import inprocess
from tests.killing import kill_when

# every test here runs a real sweep in a subprocess (or a real engine): not in make test-fast
pytestmark = pytest.mark.slow

APPS = Path(__file__).parent / "apps"
BINH_KORN = APPS / "optuna_binh_korn" / "app.py"
TWO_OBJECTIVES = APPS / "two_objectives" / "app.py"
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
SPACE = ["x=interval(-2, 2)", "y=interval(-1, 1)"]
# the grid of the Optuna example's range(0, 5, step=0.5) and range(0, 3, step=0.5)
GRID_X = [i * 0.5 for i in range(10)]
GRID_Y = [i * 0.5 for i in range(6)]


def command(app: Path, sweep_dir: Path, *overrides: str) -> List[str]:
    # pictures are test_plots' and test_report's
    return [str(app), "-m", f"hydra.sweep.dir={sweep_dir}", "hydra.sweeper.plots=false", *overrides]


def sweep(app: Path, sweep_dir: Path, *overrides: str):
    """A sweep that succeeds, its (stdout, stderr) (tests/inprocess.py's ``sweep``)."""
    return inprocess.sweep(app, sweep_dir, ["hydra.sweeper.plots=false", *overrides])


def failing_sweep(app: Path, sweep_dir: Path, *overrides: str):
    """Runs a sweep that must exit non-zero; returns (stdout, stderr)."""
    process = subprocess.run([sys.executable, "-Werror", *command(app, sweep_dir, *overrides)],
                             capture_output=True, text=True)
    assert process.returncode != 0, process.stdout + process.stderr
    return process.stdout, process.stderr


def journal(sweep_dir: Path) -> List[dict]:
    return [json.loads(line) for line in (sweep_dir / "trials.jsonl").read_text().splitlines()]


def results(sweep_dir: Path) -> dict:
    return yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())


def losses(values: Sequence[float], maximize: Sequence[bool]) -> List[float]:
    return [-v if up else v for v, up in zip(values, maximize)]


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Loss vector ``a`` is no worse than ``b`` everywhere and better somewhere."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def non_dominated(records: List[dict], maximize: Sequence[bool]) -> List[int]:
    """The numbers of the completed trials no other completed trial dominates (brute force)."""
    done = {r["number"]: losses(r["values"], maximize) for r in records if r["status"] == "ok"}
    return sorted(n for n, mine in done.items() if not any(dominates(other, mine) for other in done.values()))


def hypervolume_2d(points: List[List[float]], reference: List[float]) -> float:
    """The area two loss vectors' front dominates up to ``reference`` (brute force)."""
    area, ceiling = 0.0, reference[1]
    for x, y in sorted(p for p in points if p[0] < reference[0] and p[1] < reference[1]):
        if y < ceiling:
            area += (reference[0] - x) * (ceiling - y)
            ceiling = y
    return area


def check_front(sweep_dir: Path, maximize: List[bool]) -> Dict[str, dict]:
    """The results' solutions are exactly the non-dominated completed trials, each as the
    journal has it, and the hypervolume is theirs; returns the journal by number."""
    records = journal(sweep_dir)
    summary = results(sweep_dir)
    by_number = {r["number"]: r for r in records}
    solutions = summary["solutions"]
    assert [s["number"] for s in solutions] == non_dominated(records, maximize)
    for solution in solutions:
        record = by_number[solution["number"]]
        assert solution["values"] == record["values"] and solution["params"] == record["params"]
        assert solution["job_dir"] == record["job_dir"] and Path(record["job_dir"]).is_dir()
    reference = losses(summary["reference_point"], maximize)
    front = [losses(s["values"], maximize) for s in solutions]
    assert summary["hypervolume"] == pytest.approx(hypervolume_2d(front, reference), rel=1e-4)
    assert summary["maximize"] == maximize
    return by_number


def csv_rows(sweep_dir: Path) -> List[dict]:
    with open(sweep_dir / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def check_table(sweep_dir: Path, columns: List[str]) -> None:
    """trials.csv: a column per objective, holding each trial's values, and on_front."""
    solutions = {s["number"] for s in results(sweep_dir)["solutions"]}
    by_number = {r["number"]: r for r in journal(sweep_dir)}
    rows = csv_rows(sweep_dir)
    assert len(rows) == len(by_number)
    for row in rows:
        record = by_number[int(row["number"])]
        if record["status"] == "ok":
            assert [float(row[c]) for c in columns] == pytest.approx(record["values"])
        assert row["on_front"] == ("true" if record["number"] in solutions else "false")


def arrivals(log: str) -> Dict[int, str]:
    """What the log said of each returned trial: 'joins the front' or 'dominated'."""
    return {int(n): said for n, said in re.findall(r"#(\d+) -> \(.*?\).*?: (joins the front|dominated)", log)}


def binh_korn(x: float, y: float) -> List[float]:
    return [4 * x**2 + 4 * y**2, (x - 5) ** 2 + (y - 5) ** 2]


def two_objectives(x: float, y: float) -> List[float]:
    return [(x - 1.0) ** 2 + y**2, 10.0 - (x + 1.0) ** 2 - (y - 0.5) ** 2]


# -- the Optuna sweeper's multi-objective example ----------------------------------------------------

@pytest.fixture(scope="module")
def binh_korn_sweep(tmp_path_factory):
    """The example as Optuna's docs give it (20 trials, direction: [minimize, minimize]), with
    only the sweeper's name changed; its sweep dir and its log."""
    sweep_dir = tmp_path_factory.mktemp("binh_korn")
    out, err = sweep(BINH_KORN, sweep_dir)
    return sweep_dir, out + err


def test_the_optuna_example_finds_a_front_of_grid_points(binh_korn_sweep):
    sweep_dir, log = binh_korn_sweep
    by_number = check_front(sweep_dir, [False, False])
    assert sorted(by_number) == list(range(20)) and all(r["status"] == "ok" for r in by_number.values())
    for record in by_number.values():
        x, y = record["params"]["x"], record["params"]["y"]
        assert x in GRID_X and y in GRID_Y, record["params"]
        assert record["values"] == pytest.approx(binh_korn(x, y))
    summary = results(sweep_dir)
    assert summary["monitor"] is None and len(summary["reference_point"]) == 2
    assert len(summary["solutions"]) >= 5  # a front, not a best point
    # x's grid spans more of each objective than y's: it comes first for both
    importance = summary["importance"]
    assert list(importance) == ["objective 0 (min)", "objective 1 (min)"]
    assert all(list(entry) == ["x", "y"] for entry in importance.values())
    assert "Importance for objective 1 (min) (total effect ± sd): x " in log
    check_table(sweep_dir, ["objective 0", "objective 1"])
    # the log: the Optuna keys mapped, pruning off, each trial's arrival, the final front
    assert "mapped direction=['minimize', 'minimize'] -> maximize=[false, false]" in log
    assert re.search(r"ignored sampler\._target_ \(optuna\.samplers\.NSGAIISampler\), .*experiment_sequence", log)
    assert "Pruning is off with several objectives" in log
    said = arrivals(log)
    assert sorted(said) == list(range(20))
    assert all(said[s["number"]] == "joins the front" for s in summary["solutions"])
    assert (f"Sweep finished: 20 trial(s), 0 failed. Pareto front (objective 0 (min), objective 1 (min)): "
            f"{len(summary['solutions'])} trial(s) on the front, hypervolume") in log


def test_a_resume_with_another_direction_list_is_refused_naming_what_differs(binh_korn_sweep, tmp_path):
    old_dir, _ = binh_korn_sweep
    sweep_dir = tmp_path / "sweep"
    shutil.copytree(old_dir, sweep_dir)
    before = (sweep_dir / "trials.jsonl").read_text()
    out, err = failing_sweep(BINH_KORN, sweep_dir, "hydra.sweeper.direction=[minimize,maximize]",
                             "hydra.sweeper.n_trials=24")
    assert "holds a sweep of another objective" in err
    assert "hydra.sweeper.maximize [False, False] -> [False, True]" in err
    assert "Traceback" not in err and "Launching" not in out
    assert (sweep_dir / "trials.jsonl").read_text() == before


# -- an app that returns a mapping ---------------------------------------------------------------

def job_runs(job_dir: str) -> List[List[float]]:
    """(start, end, pid) of each time the two_objectives app ran in ``job_dir``."""
    return [[float(v) for v in line.split()] for line in (Path(job_dir) / "runs.txt").read_text().splitlines()]


def test_a_mapping_read_through_monitor_with_two_directions_on_two_async_workers(tmp_path):
    # the reference point in the objectives' own units: a at most 8, b at least 1
    # job 1 runs until two later jobs have started since it did: on a loaded machine too, a
    # slot is refilled while it runs
    out, err = sweep(TWO_OBJECTIVES, tmp_path, *SPACE, "sleep=0.2", "hold_job=1", "hydra.sweeper.n_calls=8",
                     "hydra.sweeper.n_initial_points=4", "hydra.sweeper.random_state=0",
                     "hydra.sweeper.reference_point=[8.0,1.0]", *JOBLIB)
    by_number = check_front(tmp_path, [False, True])
    assert sorted(by_number) == list(range(8)) and all(r["status"] == "ok" for r in by_number.values())
    for record in by_number.values():  # read by key, in the monitor's order, not sign-flipped
        assert record["values"] == pytest.approx(two_objectives(record["params"]["x"], record["params"]["y"]))
    # b is maximised: the front is not the one minimising both
    records = list(by_number.values())
    assert non_dominated(records, [False, True]) != non_dominated(records, [False, False])
    summary = results(tmp_path)
    assert summary["monitor"] == ["a", "b"] and summary["reference_point"] == [8.0, 1.0]
    check_table(tmp_path, ["a", "b"])
    assert "Pareto front (a (min), b (max))" in out + err
    # async: two worker processes, and a slot refilled while the other trial still ran
    runs = [job_runs(r["job_dir"])[0] for r in by_number.values()]
    assert len({pid for _, _, pid in runs}) == 2
    assert any(a_end < c_start < b_end and b_start < a_end
               for _, a_end, _ in runs for c_start, _, _ in runs for b_start, b_end, _ in runs)
    assert "(2 of 2 running" in out + err


def test_kill_9_mid_sweep_then_the_same_command_resumes_losing_nothing(tmp_path):
    overrides = [*SPACE, "sleep=0.4", "hydra.sweeper.n_calls=10", "hydra.sweeper.n_initial_points=4",
                 "hydra.sweeper.random_state=0", *JOBLIB]
    path = tmp_path / "trials.jsonl"
    kill_when(command(TWO_OBJECTIVES, tmp_path, *overrides),
              lambda: path.is_file() and len(path.read_text().splitlines()) >= 4)
    before = path.read_text()
    n_before = len(before.splitlines())
    assert 4 <= n_before < 10
    out, _ = sweep(TWO_OBJECTIVES, tmp_path, *overrides)
    assert f"Resuming {path}: {n_before} trial(s)" in out
    assert path.read_text().startswith(before)  # nothing journaled was lost or rewritten
    records = journal(tmp_path)
    numbers = [r["number"] for r in records]
    assert len(records) == 10 and len(set(numbers)) == 10 and all(r["status"] == "ok" for r in records)
    # no trial ran twice: each journaled job dir holds one run, and no two trials share one
    assert len({r["job_dir"] for r in records}) == 10
    assert all(len(job_runs(r["job_dir"])) == 1 for r in records)
    for record in records:
        assert record["values"] == pytest.approx(two_objectives(record["params"]["x"], record["params"]["y"]))
    check_front(tmp_path, [False, True])
    assert results(tmp_path)["n_trials"] == 10


def test_the_constraint_failed_trials_and_a_warm_start_work_with_several_objectives(tmp_path):
    sweep(TWO_OBJECTIVES, tmp_path / "old", *SPACE, "hydra.sweeper.n_calls=5", "hydra.sweeper.n_initial_points=5",
          "hydra.sweeper.random_state=0")
    old = [r for r in journal(tmp_path / "old") if r["params"]["y"] < 0.2]
    # trials with x above -0.4 return three values: failed, penalised, and the sweep goes on
    out, err = sweep(TWO_OBJECTIVES, tmp_path / "new", *SPACE, "hydra.sweeper.n_calls=8",
                     "hydra.sweeper.n_initial_points=2", "hydra.sweeper.random_state=0",
                     "hydra.sweeper.constraint='y < 0.2'", "wrong=three_values", "wrong_above=-0.4",
                     f"hydra.sweeper.warm_start=[{tmp_path / 'old' / 'trials.jsonl'}]")
    assert old and f"{len(old)} trial(s) told to the GP" in out + err
    records = journal(tmp_path / "new")
    assert len(records) == 8 and all(r["params"]["y"] < 0.2 for r in records)
    failed = [r for r in records if r["status"] == "failed"]
    assert failed and all(r["params"]["x"] > -0.4 for r in failed)
    assert results(tmp_path / "new")["n_failed"] == len(failed)
    check_front(tmp_path / "new", [False, True])  # the front of this sweep's own trials


def resume_after_an_unrecorded_finish(sweep_dir: Path):
    """A 3-trial sweep, then job #3 as a killed sweeper leaves it when the job finished after
    the kill (its reservation and its outcome, never journaled), then the resume; its log."""
    space = [*SPACE, "hydra.sweeper.random_state=0", "hydra.sweeper.n_initial_points=2"]
    sweep(TWO_OBJECTIVES, sweep_dir, *space, "hydra.sweeper.n_calls=3")
    outcomes = sweep_dir / ".outcomes"
    (outcomes / "3.launched").write_text(json.dumps({"params": {"x": 0.25, "y": 0.5}, "in_process": False}))
    (outcomes / "3.json").write_text(json.dumps({"values": [1.5, 8.0], "duration_s": 0.1,
                                                 "job_dir": str(sweep_dir / "3")}))
    out, err = sweep(TWO_OBJECTIVES, sweep_dir, *space, "hydra.sweeper.n_calls=5")
    return out + err


def test_a_trial_that_finished_unrecorded_is_recorded_with_its_values_on_resume(tmp_path):
    log = resume_after_an_unrecorded_finish(tmp_path)
    records = journal(tmp_path)
    assert [r["number"] for r in records] == [0, 1, 2, 3, 4]
    assert records[3]["values"] == [1.5, 8.0] and records[3]["params"] == {"x": 0.25, "y": 0.5}
    assert "#3 finished after the earlier run stopped" in log and not (tmp_path / "3").exists()
    check_front(tmp_path, [False, True])


def test_the_log_line_of_a_trial_recovered_on_resume_shows_its_values(tmp_path):
    log = resume_after_an_unrecorded_finish(tmp_path)
    (line,) = [line for line in log.splitlines() if "#3 finished after the earlier run stopped" in line]
    assert "None" not in line and "1.5" in line and "8" in line, line


# -- bad input: stopped before any launch -------------------------------------------------------------

@pytest.mark.parametrize("app, overrides, message", [
    (BINH_KORN, ["hydra.sweeper.direction=[minimize,up]"],
     "hydra.sweeper.direction=['minimize', 'up']: each direction must be minimize or maximize, not 'up'"),
    (TWO_OBJECTIVES, ["hydra.sweeper.maximize=[false,true,false]"],
     "hydra.sweeper.maximize=[False, True, False]: must have one entry per monitored key "
     "(hydra.sweeper.monitor=['a', 'b'] has 2); give both lists the same length"),
    (TWO_OBJECTIVES, ["hydra.sweeper.monitor=[a]"],
     "hydra.sweeper.maximize=[False, True]: must have one entry per monitored key "
     "(hydra.sweeper.monitor=['a'] has 1)"),
    (TWO_OBJECTIVES, ["hydra.sweeper.reference_point=[1.0]"],
     "hydra.sweeper.reference_point=[1.0]: must have one value per objective (2: a, b)"),
], ids=["direction", "maximize-longer", "monitor-shorter", "reference_point"])
def test_bad_input_stops_before_any_launch_naming_field_value_and_what_is_allowed(tmp_path, app, overrides, message):
    out, err = failing_sweep(app, tmp_path, *SPACE, *overrides)
    assert message in err
    assert "Traceback" not in err and "Launching" not in out
    assert not (tmp_path / "trials.jsonl").exists()


# -- trials that return the wrong shape -----------------------------------------------------------------

@pytest.mark.parametrize("wrong, error", [
    ("missing_b", "monitor='b' is not in the returned mapping; its keys are ['a', 'epoch']"),
    ("three_values", "the task function returned 3 value(s), but the sweep has 2 objectives (a, b)"),
], ids=["missing_b", "three_values"])
def test_a_trial_returning_the_wrong_shape_is_a_failed_trial_saying_which(tmp_path, wrong, error):
    sweep(TWO_OBJECTIVES, tmp_path, *SPACE, f"wrong={wrong}", "wrong_above=0", "hydra.sweeper.n_calls=4",
          "hydra.sweeper.n_initial_points=4", "hydra.sweeper.random_state=0")
    records = journal(tmp_path)
    failed = [r for r in records if r["status"] == "failed"]
    kept = [r for r in records if r["status"] == "ok"]
    assert len(records) == 4 and failed and kept
    assert all(r["params"]["x"] > 0 and error in r["error"] for r in failed)
    assert all(r["params"]["x"] <= 0 and r["values"] is not None for r in kept)
    summary = results(tmp_path)
    assert summary["n_failed"] == len(failed)
    assert {s["number"] for s in summary["solutions"]} <= {r["number"] for r in kept}
