"""sweep_report.py (skopt-report): the top-trials table, killed sweeps, errors, plots, and the console script."""
import importlib.util
import json
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import warnings
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from hydra_skopt_sweeper.insight import sweep_report as report
from hydra_skopt_sweeper.insight.pictures import picture_names
from hydra_skopt_sweeper.records.sweep_dir import CONVERGENCE as CONVERGENCE_NAME
from hydra_skopt_sweeper.records.sweep_dir import OBJECTIVE as OBJECTIVE_NAME
from tests.inprocess import multirun
from tests.waiting import wait_for_files

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "apps" / "sphere" / "app.py"


def strict_multirun(app: Path, path: Path, overrides: list) -> str:
    """A real sweep in this process (tests/inprocess.py), a warning an error as under ``python -Werror``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # but the drawing process the sweep leaves to finish by itself: in a process of its own
        # it was reported at exit and ignored ("Exception ignored in Popen.__del__")
        warnings.filterwarnings("ignore", "subprocess .* is still running", ResourceWarning)
        return multirun(app, path, overrides)


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """A real, finished sweep: 8 trials in batches of 2, those above 10 fail (3 with this seed)."""
    path = tmp_path_factory.mktemp("sweep")
    strict_multirun(APP, path, [
        "hydra/sweeper=skopt_gp", "x=interval(-2, 2)", "y=interval(-2, 2)", "opt=choice(adam, sgd)", "fail_above=10",
        "hydra.sweeper.n_calls=8", "hydra.sweeper.n_initial_points=4", "hydra.sweeper.batch_size=2",
        "hydra.sweeper.random_state=3",
    ])
    n_ok = sum(1 for r in records(path) if r["status"] == "ok")
    assert 4 <= n_ok < 8, f"the fixture needs successes and failures, got {n_ok} ok of 8"
    # the sweep waits a few seconds for its last drawing; on a busy machine it ends after
    wait_for_files(path / name for name in (CONVERGENCE_NAME, OBJECTIVE_NAME))
    return path


def records(path):
    return [json.loads(line) for line in (path / "trials.jsonl").read_text().splitlines() if line.strip()]


def table_rows(out):
    """The rows under the table's dashed rule: (rank, trial, value)."""
    return [(int(rank), int(number), float(value)) for rank, number, value in _cells(out, "----")]


def _cells(out, after):
    """The first three cells of each row of the first table whose rule follows a line that
    starts with ``after``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(after))
    start = next(i for i in range(start, len(lines)) if lines[i].startswith("----")) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(line.split()[:3])
    return rows


@pytest.mark.slow
def test_the_sweep_itself_left_its_plots(sweep_dir):
    assert (sweep_dir / CONVERGENCE_NAME).is_file() and (sweep_dir / OBJECTIVE_NAME).is_file()


@pytest.mark.slow
def test_table_lists_the_best_trial_first(sweep_dir, tmp_path, capsys):
    results_dir = sweep_dir
    sweep_dir = tmp_path / "copy"  # without the pictures the sweep drew, to see --no-plots draw none
    shutil.copytree(results_dir, sweep_dir, ignore=shutil.ignore_patterns("*.png"))
    assert report.main([str(sweep_dir), "--no-plots"]) == 0
    out = capsys.readouterr().out
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    ok = sorted((r for r in records(sweep_dir) if r["status"] == "ok"), key=lambda r: r["value"])

    rows = table_rows(out)
    assert [r[0] for r in rows] == list(range(1, len(ok) + 1))
    assert rows[0][1] == results["best_trial"]
    assert [r[1] for r in rows] == [r["number"] for r in ok]
    assert [r[2] for r in rows] == sorted(r[2] for r in rows)
    assert f"Best: trial #{results['best_trial']}, value {results['best_value']!r}" in out
    assert f"{results['n_trials']} trial(s), {results['n_failed']} failed" in out
    assert "complete (n_calls=8)" in out
    best = results["best_params"]
    assert f"x={best['x']!r} y={best['y']!r} opt={best['opt']}" in out  # full precision, as overrides
    assert results["best_job_dir"] in out
    assert not (sweep_dir / CONVERGENCE_NAME).exists()  # --no-plots
    predicted = f"predicted value {results['recommended_value']:.6g}"
    if results["recommended_trial"] == results["best_trial"]:
        assert f"also the model's recommendation ({predicted})" in out
    else:
        assert f"Recommended: trial #{results['recommended_trial']}, {predicted}" in out


@pytest.mark.slow
def test_the_recommendation_is_shown_when_it_is_not_the_best(sweep_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(sweep_dir, copy, ignore=shutil.ignore_patterns("*.png"))
    results = yaml.safe_load((copy / "optimization_results.yaml").read_text())
    other = next(r for r in records(copy) if r["status"] == "ok" and r["number"] != results["best_trial"])
    results.update(recommended_trial=other["number"], recommended_value=0.125, recommended_params=other["params"])
    (copy / "optimization_results.yaml").write_text(yaml.safe_dump(results))
    assert report.main([str(copy), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert f"Recommended: trial #{other['number']}, predicted value 0.125 (observed {other['value']!r})" in out


@pytest.mark.slow
def test_a_prediction_of_a_sign_no_trial_has_is_flagged(sweep_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(sweep_dir, copy, ignore=shutil.ignore_patterns("*.png"))
    results = yaml.safe_load((copy / "optimization_results.yaml").read_text())
    lowest = min(r["value"] for r in records(copy) if r["status"] == "ok")
    assert lowest >= 0  # the sphere: no trial returns a negative value
    for predicted, flagged in ((-2.67, True), (lowest / 2, False), (lowest, False)):
        results.update(recommended_trial=results["best_trial"], recommended_value=predicted)
        (copy / "optimization_results.yaml").write_text(yaml.safe_dump(results))
        assert report.main([str(copy), "--no-plots"]) == 0
        out = capsys.readouterr().out
        assert (f"(predicted value {predicted:.6g}; no trial's value has its sign, so the model is "
                "unsure there: trust the observed values)" in out) is flagged


@pytest.mark.slow
def test_a_trial_returning_the_largest_float_is_reported_and_drawn(tmp_path, capsys):
    path = tmp_path / "sweep"
    path.mkdir()
    space = {"x": {"kind": "real", "override_key": "x", "low": 0.0, "high": 1.0, "log": False},
             "w": {"kind": "categorical", "override_key": "w", "choices": ["$x^{$", "b"], "labels": ["'$x^{$'", "b"]}}
    (path / "search_space.json").write_text(json.dumps({"params": space, "maximize": False}))
    lines = [{"number": n, "params": {"x": x, "w": w}, "value": 1e308 if x > 0.7 else x, "status": "ok",
              "batch": n + 1} for n, (x, w) in enumerate(
        [(0.49, "b"), (0.99, "b"), (0.24, "$x^{$"), (0.74, "$x^{$"), (0.23, "b"), (0.28, "b"), (0.0, "$x^{$")])]
    (path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert report.main([str(path)]) == 0  # in this process: an error raises
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    assert "value 1e+308" in out or "1e+308" in out
    assert (path / CONVERGENCE_NAME).is_file() and (path / OBJECTIVE_NAME).is_file()


@pytest.mark.slow
def test_top_limits_the_table(sweep_dir, capsys):
    assert report.main([str(sweep_dir), "--no-plots", "--top", "2"]) == 0
    assert [r[0] for r in table_rows(capsys.readouterr().out)] == [1, 2]


def test_failed_trials_are_counted_and_shown(tmp_path, capsys):
    path = tmp_path / "sweep"
    path.mkdir()
    lines = [
        {"number": 0, "params": {"x": 0.5}, "value": 2.0, "status": "ok", "batch": 1, "job_dir": "/j/0"},
        {"number": 1, "params": {"x": 1.5}, "value": None, "status": "failed", "batch": 1,
         "error": "RuntimeError: out of memory\nTraceback ..."},
        {"number": 2, "params": {"x": 1.0}, "value": 1.0, "status": "ok", "batch": 2, "job_dir": "/j/2"},
    ]
    (path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert report.main([str(path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "3 trial(s), 1 failed, 2 batch(es)" in out
    assert "#1: RuntimeError: out of memory" in out and "Traceback" not in out
    assert table_rows(out) == [(1, 2, 1.0), (2, 0, 2.0)]


def test_maximized_sweep_ranks_the_largest_first(tmp_path, capsys):
    path = tmp_path / "sweep"
    path.mkdir()
    (path / "search_space.json").write_text(json.dumps({
        "params": {"x": {"kind": "real", "override_key": "x", "low": 0.0, "high": 2.0, "log": False}},
        "maximize": True}))
    values = [0.7, 0.9, 0.8]
    (path / "trials.jsonl").write_text("".join(
        json.dumps({"number": i, "params": {"x": i * 0.5}, "value": v, "status": "ok"}) + "\n"
        for i, v in enumerate(values)))
    assert report.main([str(path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "(objective, maximised)" in out
    assert [r[1] for r in table_rows(out)] == [1, 2, 0]


@pytest.mark.slow
def test_killed_sweep_with_a_torn_line_and_no_results_file(sweep_dir, tmp_path, capsys):
    killed = tmp_path / "killed"
    killed.mkdir()
    shutil.copy(sweep_dir / "search_space.json", killed)
    whole = records(sweep_dir)[:5]
    text = "".join(json.dumps(r) + "\n" for r in whole)
    (killed / "trials.jsonl").write_text(text + '{"number": 5, "params": {"x": 0.1')  # torn
    assert not (killed / "optimization_results.yaml").exists()

    assert report.main([str(killed)]) == 0
    out = capsys.readouterr().out
    ok = [r for r in whole if r["status"] == "ok"]
    best = min(ok, key=lambda r: r["value"])
    assert f"{len(whole)} trial(s), {len(whole) - len(ok)} failed" in out
    assert f"Best: trial #{best['number']}" in out
    assert table_rows(out)[0][1] == best["number"]
    assert (killed / CONVERGENCE_NAME).is_file()
    assert (killed / OBJECTIVE_NAME).is_file() == (len(ok) >= 4)


@pytest.mark.slow
def test_running_sweep_says_how_far_it_is(sweep_dir, tmp_path, capsys):
    running = tmp_path / "running"
    running.mkdir()
    shutil.copy(sweep_dir / "multirun.yaml", running)
    (running / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records(sweep_dir)[:3]))
    assert report.main([str(running), "--no-plots"]) == 0
    assert "3 of n_calls=8: still running, or stopped early" in capsys.readouterr().out


def _run_module(*args):
    return subprocess.run([sys.executable, "-m", "hydra_skopt_sweeper.insight.sweep_report", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.slow
def test_a_dir_without_journal_exits_2_with_one_line(tmp_path):
    done = _run_module(tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "trials.jsonl" in done.stderr and str(tmp_path) in done.stderr
    # the process exits with what main returns (above): a dir that is not there, in this process
    assert report.main([str(tmp_path / "missing")]) == 2


@pytest.mark.slow
def test_plots_only_writes_the_pictures_and_no_table(sweep_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(sweep_dir, copy, ignore=shutil.ignore_patterns("*.png"))
    assert report.main([str(copy), "--plots-only"]) == 0  # in this process; the quiet one below is a process
    out = capsys.readouterr().out
    assert "rank" not in out and "Best:" not in out
    assert f"Wrote {copy / CONVERGENCE_NAME}" in out
    # a line for every picture drawn, the new ones too
    assert {line for line in out.splitlines() if line.startswith("Wrote ")} == {
        f"Wrote {copy / name}" for name in picture_names(False) if (copy / name).is_file()}
    assert f"Wrote {copy / 'parallel.png'}" in out
    for name in (CONVERGENCE_NAME, OBJECTIVE_NAME):
        data = (copy / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    quiet = _run_module(copy, "--plots-only", "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


@pytest.mark.slow
def test_plots_only_and_no_plots_exclude_each_other(sweep_dir, capsys):
    with pytest.raises(SystemExit) as refused:  # argparse's exit: the process's status
        report.main([str(sweep_dir), "--plots-only", "--no-plots"])
    assert refused.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_console_script_is_declared_and_resolves():
    # what pyproject declares, and what the installed distribution's metadata says, both load
    # the report's main
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = metadata.EntryPoint(name="skopt-report", value=pyproject["project"]["scripts"]["skopt-report"],
                                   group="console_scripts")
    assert declared.load() is report.console_main
    (installed,) = metadata.distribution("hydra-skopt-sweeper").entry_points.select(name="skopt-report")
    assert installed.load() is report.console_main


@pytest.mark.slow
def test_installed_console_script_runs(sweep_dir):
    script = Path(sysconfig.get_path("scripts")) / "skopt-report"
    if not script.is_file():
        pytest.skip(f"no {script}: this venv was installed before the console script was "
                    "declared; reinstall with pip install -e .")
    done = subprocess.run([str(script), str(sweep_dir), "--no-plots", "--top", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(table_rows(done.stdout)) == 1
    assert "Best: trial #" in done.stdout


@pytest.mark.slow
def test_a_reader_that_goes_away_ends_the_report_quietly(sweep_dir):
    script = Path(sysconfig.get_path("scripts")) / "skopt-report"
    # `true` exits without reading, so the report's first write finds the pipe closed
    done = subprocess.run(f"'{script}' '{sweep_dir}' --no-plots | true; echo \"exit $?\"", shell=True,
                          capture_output=True, text=True, timeout=120)
    assert done.stderr == "" and done.stdout == "exit 0\n", done.stderr



# -- several objectives: the front, its hypervolume, a rerun line per solution

BINH_KORN = ROOT / "tests" / "apps" / "optuna_binh_korn" / "app.py"


@pytest.fixture(scope="module")
def front_sweep_dir(tmp_path_factory):
    """A real, finished sweep of two objectives: the Optuna sweeper's multi-objective example."""
    path = tmp_path_factory.mktemp("front")
    strict_multirun(BINH_KORN, path, ["hydra.sweeper.n_trials=12", "hydra.sweeper.plots=false"])
    return path


def front_rows(out):
    """The front table's rows: (trial, value, value)."""
    return [(int(number), float(first), float(second)) for number, first, second in _cells(out, "Pareto front")]


@pytest.mark.slow
def test_the_front_is_a_table_with_a_rerun_line_per_solution(front_sweep_dir, capsys):
    assert report.main([str(front_sweep_dir), "--no-plots"]) == 0
    out = capsys.readouterr().out
    results = yaml.safe_load((front_sweep_dir / "optimization_results.yaml").read_text())
    solutions = sorted(results["solutions"], key=lambda s: (s["values"][0], s["number"]))
    assert f"Sweep {front_sweep_dir} (objective 0 (min), objective 1 (min))" in out
    assert "12 trial(s), 0 failed" in out and "complete (n_calls=12)" in out
    assert front_rows(out) == [(s["number"], *s["values"]) for s in solutions]  # best first objective first
    reference = ", ".join(f"{v:.6g}" for v in results["reference_point"])
    assert (f"Pareto front: {len(solutions)} of 12 completed trial(s); hypervolume {results['hypervolume']:.6g} "
            f"from the reference point ({reference}), inferred from the completed trials") in out
    reruns = [line.split() for line in out.splitlines() if " overrides: " in line]
    assert reruns == [[f"#{s['number']}", "overrides:", f"x={s['params']['x']!r}", f"y={s['params']['y']!r}"]
                      for s in solutions]
    assert "Best:" not in out and "maximised" not in out


@pytest.mark.slow
def test_each_rerun_line_reruns_its_solution(front_sweep_dir, capsys):
    assert report.main([str(front_sweep_dir), "--no-plots"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if " overrides: " in line)
    number = int(line.split()[0][1:])
    overrides = line.split(" overrides: ")[1].split()
    # the app's task function on the overrides, in this process
    spec = importlib.util.spec_from_file_location("rerun_binh_korn_app", BINH_KORN)
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    with initialize_config_dir(config_dir=str(BINH_KORN.parent / "conf"), version_base=None):
        values = list(app.binh_and_korn.__wrapped__(compose("config", overrides=overrides)))
    journal = {r["number"]: r for r in records(front_sweep_dir)}
    assert values == journal[number]["values"]


@pytest.mark.slow
def test_the_report_of_several_objectives_draws_the_front(front_sweep_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(front_sweep_dir, copy)
    assert report.main([str(copy), "--plots-only"]) == 0  # in this process: an error raises
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    assert out.split("\n")[:2] == [f"Wrote {copy / 'pareto.png'}", f"Wrote {copy / 'hypervolume.png'}"]
    assert (copy / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (copy / CONVERGENCE_NAME).exists() and not (copy / OBJECTIVE_NAME).exists()


def test_a_front_in_named_objectives_and_directions_from_a_set_reference_point(tmp_path, capsys):
    path = tmp_path / "sweep"
    path.mkdir()
    space = {"w": {"kind": "real", "override_key": "model.w", "low": 0.0, "high": 1.0, "log": False}}
    (path / "search_space.json").write_text(json.dumps(
        {"params": space, "maximize": [True, False], "monitor": ["acc", "size"]}))
    (path / "multirun.yaml").write_text("hydra:\n  sweeper:\n    reference_point: [0.0, 100.0]\n")
    values = {0: [0.5, 10.0], 1: [0.9, 40.0], 2: [0.4, 20.0], 3: [0.7, 15.0]}  # 2 is dominated by 0
    (path / "trials.jsonl").write_text("".join(
        json.dumps({"number": n, "params": {"w": n / 4}, "value": None, "status": "ok", "values": v}) + "\n"
        for n, v in values.items()))
    assert report.main([str(path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "(acc (max), size (min))" in out
    assert "trial  acc (max)  size (min)" in out
    assert front_rows(out) == [(1, 0.9, 40.0), (3, 0.7, 15.0), (0, 0.5, 10.0)]  # the largest acc first
    # the area from each front point to (acc 0, size 100): 0.2 * 60 + 0.2 * 85 + 0.5 * 90
    assert "hypervolume 74 from the reference point (0, 100), set by hydra.sweeper.reference_point" in out
    assert "#1 overrides: model.w=0.25" in out and "#2 overrides" not in out


# -- metric constraints: the best feasible trials ------------------------------------------------------

def write_constrained_sweep(path, values, sizes, monitor=None, spec="size <= 1.0"):
    """A sweep dir with ``metric_constraints`` (multirun.yaml): trial i returned values[i]
    (a list: several objectives) and measured size sizes[i]."""
    path.mkdir()
    several = isinstance(values[0], list)
    (path / "search_space.json").write_text(json.dumps({
        "params": {"x": {"kind": "real", "override_key": "x", "low": 0.0, "high": 10.0, "log": False}},
        "maximize": [False] * len(values[0]) if several else False, "monitor": monitor}))
    (path / "trials.jsonl").write_text("".join(json.dumps({
        "number": i, "params": {"x": float(i)}, "value": None if several else v, "status": "ok", "batch": i + 1,
        "job_dir": f"/j/{i}", "metrics": {"size": s}, **({"values": v} if several else {})}) + "\n"
        for i, (v, s) in enumerate(zip(values, sizes))))
    (path / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"sweeper": {"metric_constraints": [spec]}}}))


def test_the_report_lists_the_best_feasible_trials_and_counts_the_infeasible(tmp_path, capsys):
    path = tmp_path / "sweep"
    # trials 1 and 3 have the best values but break the budget
    write_constrained_sweep(path, [0.5, 0.1, 0.4, 0.2, 0.9], [0.5, 3.0, 1.0, 1.5, 0.2])
    assert report.main([str(path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "Metric constraints 'size <= 1.0': 2 of 5 completed trial(s) infeasible (broke them)" in out
    assert "Best feasible: trial #2, value 0.4" in out and "Best: " not in out
    assert "Top 3 of 3 feasible trial(s):" in out
    assert table_rows(out) == [(1, 2, 0.4), (2, 0, 0.5), (3, 4, 0.9)]
    header = next(line for line in out.splitlines() if line.startswith("rank"))
    assert header.split()[:4] == ["rank", "trial", "value", "size"]
    assert [line.split()[3] for line in out.splitlines() if line.strip().startswith(("1 ", "2 ", "3 "))] == ["1", "0.5", "0.2"]


def test_a_report_with_nothing_feasible_says_so(tmp_path, capsys):
    path = tmp_path / "sweep"
    write_constrained_sweep(path, [0.5, 0.1], [2.0, 3.0])
    assert report.main([str(path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 completed trial(s) infeasible" in out and "No feasible trial yet." in out
    assert "Top" not in out


def test_the_front_of_a_constrained_sweep_holds_only_feasible_trials(tmp_path, capsys):
    path = tmp_path / "sweep"
    # 0, 1 and 2 form the unconstrained front; 1 breaks the budget, so 3 joins the feasible one
    write_constrained_sweep(path, [[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0], [5.0, 5.0]],
                            [0.5, 2.0, 0.5, 0.5, 0.5], monitor=["a", "b"])
    assert report.main([str(path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "1 of 5 completed trial(s) infeasible" in out
    assert "Pareto front: 3 of 4 feasible trial(s)" in out
    assert [int(row[0]) for row in front_rows(out)] == [0, 3, 2]


def test_without_metric_constraints_the_report_reads_as_before(tmp_path, capsys):
    path = tmp_path / "sweep"
    write_constrained_sweep(path, [0.5, 0.1], [2.0, 3.0])
    (path / "multirun.yaml").unlink()
    assert report.main([str(path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "Best: trial #1, value 0.1" in out and "Top 2 of 2 successful trial(s):" in out
    assert "feasible" not in out and "Metric constraints" not in out
    header = next(line for line in out.splitlines() if line.startswith("rank"))
    assert header.split() == ["rank", "trial", "value", "params", "job", "dir"]
