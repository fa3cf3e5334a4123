"""The pictures (insight/pictures/) and plot_refresher.py: the pictures from a sweep dir alone, objective.png from the sweep's own surrogate,
and the detached drawing that never holds the sweep."""
import json
import math
import os
import random
import re
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from hydra_skopt_sweeper.insight.pictures import canvas, draw, parameters, progress, surrogate
from hydra_skopt_sweeper.insight.pictures import front as front_picture
from hydra_skopt_sweeper.insight import plot_refresher
from hydra_skopt_sweeper.insight.pictures import draw_plots
from hydra_skopt_sweeper.insight.pictures.progress import best_so_far
from hydra_skopt_sweeper.insight.plot_refresher import PlotRefresher
from hydra_skopt_sweeper.insight.surface import (
    DRAWN_LIMIT,
    evenly_spaced,
    fit_surface,
    min_trials_for_objective,
)
from hydra_skopt_sweeper.insight.sweep_record import load_sweep
from hydra_skopt_sweeper.records.sweep_dir import (
    CONVERGENCE as CONVERGENCE_NAME,
)
from hydra_skopt_sweeper.records.sweep_dir import HYPERVOLUME as HYPERVOLUME_NAME
from hydra_skopt_sweeper.records.sweep_dir import IMPORTANCE as IMPORTANCE_NAME
from hydra_skopt_sweeper.records.sweep_dir import (
    OBJECTIVE as OBJECTIVE_NAME,
)
from hydra_skopt_sweeper.records.sweep_dir import PARALLEL as PARALLEL_NAME
from hydra_skopt_sweeper.records.sweep_dir import PARETO as PARETO_NAME
from hydra_skopt_sweeper.records.sweep_dir import (
    PLOTS_LOG,
)
from hydra_skopt_sweeper.records.sweep_dir import SLICES as SLICES_NAME
from tests.inprocess import multirun
from tests.waiting import wait_until

APPS = Path(__file__).resolve().parent / "apps"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

REAL = {"kind": "real", "low": -2.0, "high": 2.0, "log": False}
SPACES = {
    "one": {"lr": {"kind": "real", "override_key": "lr", "low": 1e-4, "high": 1e-1, "log": True}},
    "three": {
        "x": dict(REAL, override_key="x"),
        "n": {"kind": "grid", "override_key": "n", "choices": [16, 32, 48, 64],
              "labels": ["16", "32", "48", "64"]},
        "opt": {"kind": "categorical", "override_key": "opt", "choices": ["adam", "sgd", "rmsprop"],
                "labels": ["adam", "sgd", "rmsprop"]},
    },
    "ten": {
        **{f"p{i}": dict(REAL, override_key=f"p{i}") for i in range(8)},
        "layers": {"kind": "int", "override_key": "layers", "low": 1, "high": 6, "log": False},
        "act": {"kind": "categorical", "override_key": "act", "choices": ["relu", "tanh"],
                "labels": ["relu", "tanh"]},
    },
}


def _sample(spec, rng):
    if spec["kind"] == "real":
        if spec["log"]:
            return math.exp(rng.uniform(math.log(spec["low"]), math.log(spec["high"])))
        return rng.uniform(spec["low"], spec["high"])
    if spec["kind"] == "int":
        return rng.randint(spec["low"], spec["high"])
    return rng.choice(spec["choices"])


def _value(params):
    """A smooth positive objective (like a validation loss); strings count by length."""
    total = 0.0
    for v in params.values():
        x = math.log10(v) + 2.5 if isinstance(v, float) and 0 < v < 0.2 else (len(v) if isinstance(v, str) else v)
        total += (float(x) - 0.5) ** 2
    return 0.1 + total / len(params)


def write_sweep(sweep_dir, space, n_ok, n_failed=0, maximize=False, batch=3, seed=0):
    """A synthetic sweep dir as the loop writes it: search_space.json and trials.jsonl."""
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / "search_space.json").write_text(json.dumps({"params": space, "maximize": maximize}))
    rng = random.Random(seed)
    records = []
    failed_at = set(range(1, 1 + 2 * n_failed, 2))
    for number in range(n_ok + n_failed):
        params = {name: _sample(spec, rng) for name, spec in space.items()}
        failed = number in failed_at
        value = _value(params)
        records.append({
            "number": number, "params": params,
            "value": None if failed else (1.0 / value if maximize else value),
            "status": "failed" if failed else "ok",
            "error": "RuntimeError: diverged" if failed else None,
            "duration_s": 0.5, "job_dir": str(sweep_dir / str(number)), "batch": number // batch + 1,
        })
    (sweep_dir / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def assert_png(path, min_bytes=10_000):
    import matplotlib.image

    path = Path(path)
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert len(data) > min_bytes, f"{path} is only {len(data)} bytes"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
    assert image[..., :3].std() > 0.01, f"{path} is blank"  # something was drawn
    return image


def no_temporary_files(sweep_dir):
    return [p.name for p in Path(sweep_dir).iterdir() if p.name.endswith(".tmp")]


# each picture of draw_plots by name, and the function in draw.py that draws it
PICTURE_FUNCTIONS = {"convergence": "draw_convergence", "objective": "draw_objective", "slices": "draw_slices",
                     "pareto": "draw_pareto", "hypervolume": "draw_hypervolume", "curves": "draw_curves",
                     "importance": "draw_importance", "parallel": "draw_parallel"}


def draw_only(sweep, *names, **kwargs):
    """draw_plots, with only the pictures ``names`` drawn, each from what draw_plots gives it; the
    others' functions return None (each PNG costs about 0.4 s: for tests that read only these)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, function in PICTURE_FUNCTIONS.items():
            if name not in names:
                patch.setattr(draw, function, lambda *_, **__: None)
        return draw_plots(sweep, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("kind, n_ok", [("one", 6), ("three", 12), ("ten", 14)])
def test_draws_both_pictures(tmp_path, kind, n_ok):
    write_sweep(tmp_path, SPACES[kind], n_ok=n_ok, n_failed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Hydra's tests run sweeps with -Werror
        written = draw_plots(tmp_path)
    assert {name: written[name] for name in ("convergence", "objective", "curves")} == {
        "convergence": tmp_path / CONVERGENCE_NAME, "objective": tmp_path / OBJECTIVE_NAME,
        "curves": None}  # no trial reported a curve
    assert set(written) == {"convergence", "objective", "curves", "importance", "parallel", "slices"}
    assert (written["parallel"], written["slices"]) == (tmp_path / PARALLEL_NAME, tmp_path / SLICES_NAME)
    assert_png(tmp_path / CONVERGENCE_NAME)
    image = assert_png(tmp_path / OBJECTIVE_NAME)
    if kind == "ten":  # a 10 x 10 grid of panels needs room to be readable
        assert min(image.shape[:2]) >= 1200
    assert no_temporary_files(tmp_path) == []


def test_no_pyplot_figure_is_left_open(tmp_path):
    import matplotlib.pyplot as plt

    write_sweep(tmp_path, SPACES["three"], n_ok=8)
    before = plt.get_fignums()
    draw_plots(tmp_path)
    assert plt.get_fignums() == before


@pytest.mark.slow
def test_objective_waits_for_enough_successful_trials(tmp_path):
    space = SPACES["three"]
    need = min_trials_for_objective(len(space))
    assert need == 4
    # failed trials do not count towards the GP
    write_sweep(tmp_path, space, n_ok=need - 1, n_failed=3)
    written = draw_only(tmp_path, "convergence", "objective")
    assert_png(tmp_path / CONVERGENCE_NAME)
    assert written["objective"] is None
    assert not (tmp_path / OBJECTIVE_NAME).exists()

    write_sweep(tmp_path, space, n_ok=need, n_failed=3)
    assert draw_only(tmp_path, "objective")["objective"] == tmp_path / OBJECTIVE_NAME
    assert_png(tmp_path / OBJECTIVE_NAME)


def test_only_failures_or_nothing_yet_still_draw_convergence(tmp_path):
    write_sweep(tmp_path / "failed", SPACES["one"], n_ok=0, n_failed=3)
    assert draw_plots(tmp_path / "failed")["objective"] is None
    assert_png(tmp_path / "failed" / CONVERGENCE_NAME, min_bytes=5_000)

    empty = tmp_path / "empty"
    write_sweep(empty, SPACES["one"], n_ok=0)
    assert draw_plots(empty)["convergence"] == empty / CONVERGENCE_NAME


def test_without_search_space_only_convergence(tmp_path):
    write_sweep(tmp_path, SPACES["three"], n_ok=10)
    (tmp_path / "search_space.json").unlink()
    written = draw_plots(tmp_path)
    assert written["objective"] is None
    assert_png(tmp_path / CONVERGENCE_NAME)


@pytest.mark.slow
def test_maximize_plots_the_users_values(tmp_path):
    records = write_sweep(tmp_path, SPACES["three"], n_ok=12, maximize=True)
    record = load_sweep(tmp_path)
    assert record.maximize is True
    values = [r["value"] for r in records if r["status"] == "ok"]
    assert all(v > 0 for v in values)

    # convergence: the best so far is the running maximum of what the trials returned
    series = best_so_far(record.trials, maximize=True)
    bests = [b for _, b in series]
    assert bests == sorted(bests) and bests[-1] == max(values)
    assert bests[0] == values[0]

    # objective: the model is told losses (negated values) and read in the user's values
    surface = fit_surface(record)
    assert surface.losses == [-v for v in values]
    predicted = surface.predict(surface.tspace.transform(surface.points))
    assert min(predicted) > 0
    assert abs(max(predicted) - max(values)) < 0.25 * (max(values) - min(values))

    draw_only(record, "objective")
    assert_png(tmp_path / OBJECTIVE_NAME)


def test_convergence_ylabel_names_the_monitor_and_direction(tmp_path, monkeypatch):
    write_sweep(tmp_path, SPACES["one"], n_ok=5, maximize=True)
    (tmp_path / "multirun.yaml").write_text("hydra:\n  sweeper:\n    monitor: val_acc\n    n_calls: 9\n")
    record = load_sweep(tmp_path)
    assert (record.objective_name, record.n_calls) == ("val_acc", 9)
    labels = []
    real_save = canvas.save

    def spy(fig, path):
        labels.extend(ax.get_ylabel() for ax in fig.axes)
        return real_save(fig, path)

    monkeypatch.setattr(canvas, "save", spy)
    progress.draw_convergence(record, tmp_path / CONVERGENCE_NAME)
    assert labels == ["val_acc (maximised)"]


def test_batch_boundaries_and_failures_are_drawn(tmp_path, monkeypatch):
    write_sweep(tmp_path, SPACES["one"], n_ok=7, n_failed=2, batch=3)  # 9 trials: batches 1, 2, 3
    record = load_sweep(tmp_path)
    seen = {}
    real_save = canvas.save

    def spy(fig, path):
        ax = fig.axes[0]
        seen["vlines"] = sorted(line.get_xdata()[0] for line in ax.lines
                                if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1])
        seen["legend"] = [t.get_text() for t in ax.get_legend().get_texts()]
        return real_save(fig, path)

    monkeypatch.setattr(canvas, "save", spy)
    progress.draw_convergence(record, tmp_path / CONVERGENCE_NAME)
    assert seen["vlines"] == [2.5, 5.5]
    assert "failed (2)" in seen["legend"] and "best so far" in seen["legend"]


def test_objective_name_falls_back_to_the_apps_monitor_key(tmp_path):
    write_sweep(tmp_path, SPACES["one"], n_ok=3)
    (tmp_path / "multirun.yaml").write_text("monitor: val_loss\nhydra:\n  sweeper:\n    monitor: null\n")
    assert load_sweep(tmp_path).objective_name == "val_loss"
    (tmp_path / "multirun.yaml").write_text("hydra:\n  sweeper:\n    n_calls: 3\n")
    assert load_sweep(tmp_path).objective_name == "objective"


def test_integer_params_get_integer_ticks(tmp_path, monkeypatch):
    """skopt puts 1.2, 1.6, ... on an integer param's axes; objective.png shows 1, 2, 3."""
    import numpy as np

    space = {"x": dict(REAL, override_key="x"),
             "layers": {"kind": "int", "override_key": "layers", "low": 1, "high": 3, "log": False}}
    write_sweep(tmp_path, space, n_ok=8)
    ticks = {}
    save = canvas.save

    def inspect_then_save(fig, path):  # _save clears the figure
        axes = np.array(fig.axes[:4], dtype=object).reshape(2, 2)  # then the colour bar
        # the curve of layers, and the contour map's rows
        for name, axis in (("curve", axes[1, 1].xaxis), ("map", axes[1, 0].yaxis)):
            low, high = axis.get_view_interval()
            ticks[name] = [float(t) for t in axis.get_major_locator()() if low - 1e-9 <= t <= high + 1e-9]
        return save(fig, path)

    monkeypatch.setattr(canvas, "save", inspect_then_save)
    assert surrogate.draw_objective(load_sweep(tmp_path), tmp_path / OBJECTIVE_NAME) is not None
    assert ticks == {"curve": [1, 2, 3], "map": [1, 2, 3]}


# -- objective.png: the sweep's own surrogate ------------------------------------------------------

# a linear range over three decades: the proposer's GP models it on a log scale (an input warp)
WARPED = {
    "x": dict(REAL, override_key="x"),
    "wd": {"kind": "real", "override_key": "wd", "low": 1e-4, "high": 1e-1, "log": False},
    "opt": SPACES["three"]["opt"],
}


@pytest.mark.parametrize("maximize", [False, True])
def test_objective_is_drawn_from_the_model_the_proposer_fits(tmp_path, maximize):
    """Told the same trials as the loop tells it (failures at the worst loss so far), the
    proposer's surrogate and the drawing's predict the same at the tried points."""
    import numpy as np

    from hydra_skopt_sweeper.search.proposer import BatchProposer

    records = write_sweep(tmp_path, WARPED, n_ok=12, n_failed=2, maximize=maximize)
    record = load_sweep(tmp_path)
    points, losses = [], []
    for batch in sorted({r["batch"] for r in records}):  # as loop.py tells them under on_failure=penalize:
        returned = [r for r in records if r["batch"] == batch]  # a batch's values, then its failures
        for r in [r for r in returned if r["status"] == "ok"]:
            losses.append(-r["value"] if maximize else r["value"])
            points.append(record.space.to_point(r["params"]))
        for r in [r for r in returned if r["status"] != "ok"]:
            losses.append(max(losses))
            points.append(record.space.to_point(r["params"]))
    proposer = BatchProposer(record.space.dimensions(), n_initial_points=0, random_state=0)
    proposer.tell(points, losses)
    index, predicted_loss = proposer.recommend(points)

    surface = fit_surface(record)
    assert surface.kind == "GP" and sorted(surface.losses) == sorted(losses)
    values = surface.predict(surface.tspace.transform(points))
    predicted = -values if maximize else values
    assert int(np.argmin(predicted)) == index
    assert predicted[index] == pytest.approx(predicted_loss, rel=1e-6)
    model, scale = proposer.surrogate()
    rows = proposer._normalise(points)
    assert surface.model.warp.strengths == model.warp.strengths  # wd on a log scale, or not, alike
    np.testing.assert_allclose(surface.mean(rows), model.predict(rows)[0], rtol=1e-6, atol=1e-9)


@pytest.mark.slow
def test_objective_follows_the_sweeps_base_estimator(tmp_path):
    write_sweep(tmp_path, SPACES["three"], n_ok=10)
    (tmp_path / "multirun.yaml").write_text("hydra:\n  sweeper:\n    base_estimator: ET\n")
    assert fit_surface(load_sweep(tmp_path)).kind == "ET"
    assert draw_only(tmp_path, "objective")["objective"] == tmp_path / OBJECTIVE_NAME


def test_evenly_spaced_values_per_kind():
    import numpy as np
    from skopt.space import Space
    from skopt.utils import normalize_dimensions

    from hydra_skopt_sweeper.problem.search_space import SearchSpace

    space = SearchSpace.from_description({
        "lr": SPACES["one"]["lr"], "n": SPACES["three"]["n"], "opt": SPACES["three"]["opt"],
        "layers": {"kind": "int", "override_key": "layers", "low": 1, "high": 3, "log": False},
    })
    dims = Space(normalize_dimensions(space.dimensions())).dimensions
    (lr, lr_columns), (n, n_columns), (opt, opt_columns), (layers, _) = (
        evenly_spaced(p, d, 5) for p, d in zip(space.params, dims))
    np.testing.assert_allclose(lr, [1e-4, 10**-3.25, 10**-2.5, 10**-1.75, 1e-1])  # even on the log axis
    np.testing.assert_allclose(lr_columns.ravel(), [0, 0.25, 0.5, 0.75, 1], atol=1e-12)
    assert list(n) == [0, 1, 2, 3] and n_columns.shape == (4, 1)  # every grid option, by index
    assert list(opt) == [0, 1, 2] and opt_columns.shape == (3, 3)  # every category, one-hot
    assert list(layers) == [1, 2, 3]  # each integer once


def test_drawing_leaves_numpys_global_random_state_alone(tmp_path):
    import numpy as np

    write_sweep(tmp_path, SPACES["three"], n_ok=10)
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    draw_plots(tmp_path)
    assert np.random.rand() == expected


# -- drawing in the background --------------------------------------------------------------------


def test_requests_during_a_drawing_make_one_more_drawing_of_the_newest_state(tmp_path):
    read_end, write_end = os.pipe()
    state, seen, result = tmp_path / "state", [], []
    started, go_on = threading.Event(), threading.Event()

    def draw(sweep_dir):
        seen.append(state.read_text())
        started.set()
        go_on.wait(30)

    state.write_text("1")
    os.write(write_end, b"\n")
    drawer = threading.Thread(target=lambda: result.append(plot_refresher.follow(tmp_path, read_end, draw)))
    drawer.start()
    assert started.wait(30)
    for version in "234":  # three refreshes while the first drawing runs
        state.write_text(version)
        os.write(write_end, b"\n")
    go_on.set()
    os.close(write_end)  # the sweep ends: the drawer draws what it was asked to, then returns
    drawer.join(30)
    os.close(read_end)
    assert seen == ["1", "4"] and result == [(2, 0)]


# Stands in for the drawing process: says it started, then draws (writes `drawn.PID`) only once
# the test creates the file `gate` (it gives up after 5 minutes, should a failed test never do so).
_GATED = (
    "import os, sys, time\n"
    "d = sys.argv[1]\n"
    "open(os.path.join(d, f'started.{os.getpid()}'), 'w').close()\n"
    "deadline = time.monotonic() + 300\n"
    "while not os.path.exists(os.path.join(d, 'gate')):\n"
    "    if time.monotonic() > deadline: sys.exit(1)\n"
    "    time.sleep(0.02)\n"
    "open(os.path.join(d, f'drawn.{os.getpid()}'), 'w').close()\n"
)


def _marks(sweep_dir, kind):
    return sorted(p.name for p in Path(sweep_dir).glob(f"{kind}.*"))


def test_wait_returns_at_its_bound_and_a_late_drawing_finishes_by_itself(tmp_path):
    refresher = PlotRefresher()
    refresher.command = lambda sweep_dir: [sys.executable, "-c", _GATED, str(sweep_dir)]
    refresher.refresh(tmp_path, version=1)
    refresher.refresh(tmp_path, version=1)  # the same state: nothing new asked
    refresher.refresh(tmp_path, version=2)
    assert refresher.started == 1  # one process for the whole sweep
    proc = refresher._proc
    assert os.getsid(proc.pid) != os.getsid(0)  # its own session: a Ctrl-C of the sweep spares it
    assert refresher.wait(timeout=0.2) is False  # the drawing cannot end before the gate opens
    refresher.close()
    assert proc.poll() is None and _marks(tmp_path, "drawn") == []
    (tmp_path / "gate").touch()
    assert proc.wait(timeout=60) == 0
    assert _marks(tmp_path, "drawn") == [f"drawn.{proc.pid}"]


def test_a_drawing_process_that_dies_is_a_failure_and_the_next_refresh_starts_another(tmp_path, caplog):
    refresher = PlotRefresher()
    refresher.command = lambda d: [sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)"]
    refresher.refresh(tmp_path, version=1)
    assert refresher._proc.wait(timeout=60) == 3
    (tmp_path / "gate").touch()
    refresher.command = lambda d: [sys.executable, "-c", _GATED, str(d)]
    refresher.refresh(tmp_path, version=2)
    assert refresher.wait(timeout=60)
    assert (refresher.started, refresher.failures) == (2, 1)
    assert len(_marks(tmp_path, "drawn")) == 1
    assert any("Drawing the plots failed" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_the_end_of_a_sweep_does_not_wait_for_a_slow_drawing(tmp_path):
    """A real sweep whose drawings cannot end: it exits after the bound, says so, and the
    drawings finish afterwards by themselves."""
    import subprocess

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "from hydra_skopt_sweeper.insight import plot_refresher\n"
        f"plot_refresher.PlotRefresher.command = staticmethod(lambda d: [{sys.executable!r}, '-c', {_GATED!r}, str(d)])\n")
    sweep_dir = tmp_path / "sweep"
    app = Path(__file__).resolve().parent / "apps" / "sphere" / "app.py"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, str(app), "-m", "hydra/sweeper=skopt_gp", f"hydra.sweep.dir={sweep_dir}",
         "x=interval(-2, 2)", "hydra.sweeper.n_calls=4", "hydra.sweeper.n_initial_points=2",
         "hydra.sweeper.batch_size=2"],
        capture_output=True, text=True, env=env, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Sweep finished" in out
    # nothing is drawn yet: the end names no picture that is not there
    assert (f"Plots: none yet in {sweep_dir} (still being drawn after 5 s: the drawing goes on in the "
            "background and finishes by itself)") in out
    assert str(sweep_dir / CONVERGENCE_NAME) not in out
    started = _marks(sweep_dir, "started")
    assert started and _marks(sweep_dir, "drawn") == []
    (sweep_dir / "gate").touch()
    wait_until(lambda: len(_marks(sweep_dir, "drawn")) == len(started))


@pytest.mark.slow
def test_a_sweep_with_plots_false_draws_nothing(tmp_path):
    # in this process (tests/inprocess.py): the log is what the sweep prints; a failure raises
    out = multirun(APPS / "sphere" / "app.py", tmp_path, [
        "hydra/sweeper=skopt_gp", "x=interval(-2, 2)", "hydra.sweeper.n_calls=4", "hydra.sweeper.n_initial_points=2",
        "hydra.sweeper.plots=false"])
    assert "Sweep finished" in out and "Plots:" not in out
    assert list(tmp_path.glob("*.png")) == [] and (tmp_path / "trials.jsonl").is_file()


@pytest.mark.slow
def test_refresher_draws_the_real_plots_in_the_background(tmp_path):
    write_sweep(tmp_path, SPACES["three"], n_ok=6)
    refresher = PlotRefresher()
    refresher.refresh(tmp_path, version=6)
    write_sweep(tmp_path, SPACES["three"], n_ok=9, seed=1)  # a batch returned meanwhile
    refresher.refresh(tmp_path, version=9)
    assert refresher.wait(timeout=300)
    assert refresher.failures == 0, (tmp_path / PLOTS_LOG).read_text()
    assert_png(tmp_path / CONVERGENCE_NAME)
    assert_png(tmp_path / OBJECTIVE_NAME)
    assert load_sweep(tmp_path).trials[-1].number == 8


@pytest.mark.slow
def test_refresher_reports_a_failed_drawing(tmp_path, caplog):
    refresher = PlotRefresher()
    refresher.refresh(tmp_path)  # no trials.jsonl: the drawing fails
    assert refresher.wait(timeout=120)
    assert refresher.failures == 1
    assert "trials.jsonl" in (tmp_path / PLOTS_LOG).read_text()
    assert any("Drawing the plots failed" in r.getMessage() for r in caplog.records)


def test_disabled_refresher_does_nothing(tmp_path):
    refresher = PlotRefresher(enabled=False)
    refresher.refresh(tmp_path)
    assert refresher.wait(timeout=0) and refresher.started == 0


# -- whatever a trial returned or was named, the pictures are drawn

@pytest.mark.slow
@pytest.mark.parametrize("space", ["one", "three"])
@pytest.mark.parametrize("huge", [1e308, -1.7e308, sys.float_info.max])
def test_a_value_as_large_as_a_float_allows_still_draws_every_plot(tmp_path, space, huge):
    records = write_sweep(tmp_path, SPACES[space], n_ok=12, n_failed=1)
    for record in records[3:5]:
        record["value"] = huge
    (tmp_path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    written = draw_plots(tmp_path)
    assert_png(written["convergence"])
    assert_png(written["objective"], min_bytes=5_000)
    surface = fit_surface(load_sweep(tmp_path))
    values = surface.predict(surface.tspace.transform(surface.tspace.rvs(50, random_state=0)))
    assert all(math.isfinite(v) and abs(v) <= DRAWN_LIMIT for v in values)


@pytest.mark.slow
def test_options_and_names_with_dollar_signs_are_drawn_as_written(tmp_path):
    space = {
        "x": dict(REAL, override_key="x"),
        "w$": {"kind": "categorical", "override_key": "w$", "choices": ["$x^{$", "b$", "plain"],
               "labels": ["'$x^{$'", "'b$'", "plain"]},
    }
    write_sweep(tmp_path, space, n_ok=8)
    (tmp_path / "multirun.yaml").write_text("hydra:\n  sweeper:\n    monitor: val_$loss\n")
    written = draw_plots(tmp_path)
    assert_png(written["objective"])
    assert_png(written["convergence"])


# -- several objectives: pareto.png and hypervolume.png

def write_front_sweep(sweep_dir, n_objectives, n_trials, maximize=None, monitor=None, failed=(3,), seed=0):
    """A synthetic sweep dir of several objectives as the loop writes it: a curved front
    (values on a sphere's octant, pushed out by a distance from it) in the objectives' own
    directions, each trial's values under "values"."""
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    maximize = list(maximize or [False] * n_objectives)
    space = {"x": dict(REAL, override_key="x"), "y": dict(REAL, override_key="y")}
    (sweep_dir / "search_space.json").write_text(json.dumps(
        {"params": space, "maximize": maximize, "monitor": monitor, "n_calls": n_trials}))
    rng = random.Random(seed)
    records = []
    for number in range(n_trials):
        params = {"x": rng.uniform(-2, 2), "y": rng.uniform(-2, 2)}
        if number in failed:
            records.append({"number": number, "params": params, "value": None, "status": "failed",
                            "error": "RuntimeError: diverged", "batch": number // 2 + 1})
            continue
        a, b = [(v + 2) / 4 * math.pi / 2 for v in (params["x"], params["y"])]
        radius = 1 + rng.uniform(0, 0.4) ** 2
        point = [math.cos(a) * math.cos(b), math.cos(a) * math.sin(b), math.sin(a)][:n_objectives]
        if n_objectives == 2:
            point = [math.cos(a), math.sin(a)]
        values = [(-radius * v if up else radius * v) for v, up in zip(point, maximize)]
        records.append({"number": number, "params": params, "value": None, "status": "ok", "error": None,
                        "duration_s": 0.5, "job_dir": str(sweep_dir / str(number)), "batch": number // 2 + 1,
                        "values": values})
    (sweep_dir / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def _spy_figures(monkeypatch):
    """What each saved figure showed, by file name: its axes' labels, lines and legend texts."""
    seen = {}
    real_save = canvas.save

    def spy(fig, path):
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
        seen[Path(path).name] = {
            "xlabels": [ax.get_xlabel() for ax in axes], "ylabels": [ax.get_ylabel() for ax in axes],
            "lines": {line.get_label(): line.get_xydata().copy() for ax in axes for line in ax.lines},
            "limits": [(ax.get_xlim(), ax.get_ylim()) for ax in axes],
            "texts": [t.get_text() for ax in fig.axes for t in ax.texts],
            "legend": [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()],
            # the words of every title, however they were wrapped
            "title": " ".join(" ".join([ax.get_title() for ax in fig.axes]
                                       + [fig._suptitle.get_text() if fig._suptitle else ""]).split()),
        }
        return real_save(fig, path)

    monkeypatch.setattr(canvas, "save", spy)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("n_objectives", [2, 3])
def test_several_objectives_draw_the_front_and_the_hypervolume(tmp_path, n_objectives):
    write_front_sweep(tmp_path, n_objectives, n_trials=24)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = draw_plots(tmp_path)
    assert {name: written[name] for name in ("pareto", "hypervolume", "curves")} == {
        "pareto": tmp_path / PARETO_NAME, "hypervolume": tmp_path / HYPERVOLUME_NAME, "curves": None}
    assert set(written) == {"pareto", "hypervolume", "curves", "importance", "parallel"}
    assert_png(written["parallel"])
    assert_png(written["pareto"])
    assert_png(written["hypervolume"])
    # convergence.png and objective.png are pictures of one objective
    assert not (tmp_path / CONVERGENCE_NAME).exists() and not (tmp_path / OBJECTIVE_NAME).exists()
    assert no_temporary_files(tmp_path) == []


def test_one_objective_draws_no_front(tmp_path):
    write_sweep(tmp_path, SPACES["one"], n_ok=6)
    # only the front's pictures drawn, should draw_plots ask for them: the others' are not read here
    assert set(draw_only(tmp_path, "pareto", "hypervolume")) == {"convergence", "objective", "curves", "importance", "parallel", "slices"}
    assert not (tmp_path / PARETO_NAME).exists() and not (tmp_path / HYPERVOLUME_NAME).exists()


def test_two_objectives_front_is_a_step_line_in_their_own_units_and_directions(tmp_path, monkeypatch):
    import numpy as np

    records = write_front_sweep(tmp_path, 2, n_trials=16, maximize=[True, False], monitor=["acc", "latency"])
    seen = _spy_figures(monkeypatch)
    draw_only(tmp_path, "pareto")
    pareto = seen[PARETO_NAME]
    assert (pareto["xlabels"], pareto["ylabels"]) == (["acc (max)"], ["latency (min)"])
    values = np.array([r["values"] for r in records if r["status"] == "ok"])
    # brute force: a trial is on the front when no other is as good on both and better on one
    better = lambda a, b: a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])  # noqa: E731
    front = [(n, v) for n, v in zip([r["number"] for r in records if r["status"] == "ok"], values)
             if not any(better(w, v) for w in values)]
    stairs = pareto["lines"]["front"]
    assert {tuple(p) for p in stairs} >= {tuple(v) for _, v in front}  # through every front point, unflipped
    assert len(stairs) == 2 * len(front) - 1  # a corner between each two
    assert np.all(np.diff(stairs[:, 0]) <= 0) and np.all(np.diff(stairs[:, 1]) <= 0)  # acc falls, latency falls
    assert sorted(pareto["texts"]) == sorted(f"#{n}" for n, _ in front)  # few: each labelled
    assert f"on the front ({len(front)})" in pareto["legend"]
    assert f"dominated ({len(values) - len(front)})" in pareto["legend"]


@pytest.mark.slow
def test_three_objectives_draw_every_pair(tmp_path, monkeypatch):
    write_front_sweep(tmp_path, 3, n_trials=30, monitor=["loss", "size", "latency"])
    seen = _spy_figures(monkeypatch)
    draw_only(tmp_path, "pareto")
    pareto = seen[PARETO_NAME]
    # below the diagonal of a 2 x 2 grid: (loss, size), (loss, latency), (size, latency)
    assert sorted(zip(pareto["xlabels"], pareto["ylabels"])) == sorted(
        [("", "size (min)"), ("loss (min)", "latency (min)"), ("size (min)", "")])
    assert "hypervolume" in " ".join(pareto["texts"]) and "Pareto front: " in pareto["title"]


def test_hypervolume_so_far_never_falls_and_is_measured_from_the_final_reference_point(tmp_path):
    import numpy as np

    from hydra_skopt_sweeper.search.pareto import hypervolume

    write_front_sweep(tmp_path, 3, n_trials=40, maximize=[False, True, False])
    record = load_sweep(tmp_path)
    front = record.front()
    series = front_picture.hypervolume_so_far(front)
    assert [n for n, _ in series] == sorted(t.number for t in front.trials)
    order = np.argsort([t.number for t in front.trials])
    expected = [hypervolume(front.losses[order[: k + 1]], front.reference) for k in range(len(order))]
    assert np.allclose([v for _, v in series], expected, rtol=1e-12, atol=1e-12)
    assert all(b >= a for (_, a), (_, b) in zip(series, series[1:]))
    assert series[-1][1] == pytest.approx(front.hypervolume, rel=1e-12)


@pytest.mark.slow
def test_the_hypervolume_picture_says_which_reference_point(tmp_path, monkeypatch, caplog):
    write_front_sweep(tmp_path, 2, n_trials=12)
    seen = _spy_figures(monkeypatch)
    draw_only(tmp_path, "pareto", "hypervolume")
    assert "inferred from the completed trials" in seen[HYPERVOLUME_NAME]["title"]
    assert "final reference point" in seen[HYPERVOLUME_NAME]["title"]
    (tmp_path / "multirun.yaml").write_text("hydra:\n  sweeper:\n    reference_point: [3.0, 2.5]\n")
    draw_only(tmp_path, "pareto", "hypervolume")
    assert "(3, 2.5) (set by hydra.sweeper.reference_point)" in seen[HYPERVOLUME_NAME]["title"]
    assert "set by hydra.sweeper.reference_point" in seen[PARETO_NAME]["title"]
    (tmp_path / "multirun.yaml").write_text("hydra:\n  sweeper:\n    reference_point: [3.0]\n")
    draw_only(tmp_path, "hypervolume")  # one value for two objectives: inferred instead, with a warning
    assert "inferred from the completed trials" in seen[HYPERVOLUME_NAME]["title"]
    assert any("reference_point=[3.0]" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_several_objectives_with_no_completed_trial_or_huge_values_still_draw(tmp_path, monkeypatch):
    records = write_front_sweep(tmp_path, 2, n_trials=3, failed=(0, 1, 2))
    written = draw_plots(tmp_path)
    assert_png(written["pareto"], min_bytes=5_000)
    assert_png(written["hypervolume"], min_bytes=5_000)
    records = write_front_sweep(tmp_path, 2, n_trials=10)
    records[4]["values"] = [sys.float_info.max, 0.5]
    (tmp_path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    seen = _spy_figures(monkeypatch)
    written = draw_plots(tmp_path)
    assert_png(written["pareto"])
    assert_png(written["hypervolume"])
    (x_low, x_high), (y_low, y_high) = seen[PARETO_NAME]["limits"][0]
    for x, y in (r["values"] for r in records if r["status"] == "ok"):  # every trial in view
        assert x_low <= min(x, DRAWN_LIMIT) <= x_high and y_low <= y <= y_high


@pytest.mark.slow
def test_a_sweep_of_two_objectives_draws_its_front_and_names_it(tmp_path):
    # in this process (tests/inprocess.py): the log is what the sweep prints; a failure raises
    out = multirun(APPS / "optuna_binh_korn" / "app.py", tmp_path, ["hydra.sweeper.n_trials=4"])
    # the end names both pictures, or (on a loaded machine) says the last drawing goes on
    assert (f"Plots: {tmp_path / PARETO_NAME}, {tmp_path / HYPERVOLUME_NAME}" in out
            or re.search(r"Plots: .* \(still being drawn after", out)), out
    wait_until(lambda: (tmp_path / PARETO_NAME).is_file() and (tmp_path / HYPERVOLUME_NAME).is_file())
    assert_png(tmp_path / PARETO_NAME)
    assert not (tmp_path / CONVERGENCE_NAME).exists()
    assert "Traceback" not in (tmp_path / PLOTS_LOG).read_text()


# -- metric constraints: infeasible trials drawn apart ---------------------------------------------

BUDGET = "size <= 1.0"


def constrain(sweep_dir, records, size_of, spec=BUDGET):
    """Make a synthetic sweep dir one with ``metric_constraints`` (multirun.yaml, as the sweep
    saves it): each completed trial measured ``size``; returns the numbers of the infeasible ones."""
    import yaml

    sweep_dir = Path(sweep_dir)
    for record in records:
        if record["status"] == "ok":
            record["metrics"] = {"size": size_of(record)}
    (sweep_dir / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (sweep_dir / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"sweeper": {"metric_constraints": [spec]}}}))
    return {r["number"] for r in records if r["status"] == "ok" and r["metrics"]["size"] > 1.0}


def _spy_collections(monkeypatch):
    """The points of each labelled scatter of each saved figure, by file name and label, with
    its markers' face and edge colours."""
    seen = {}
    real_save = canvas.save

    def spy(fig, path):
        drawn = seen.setdefault(Path(path).name, {})
        for ax in fig.axes:
            for collection in ax.collections:
                label = collection.get_label()
                if not label.startswith("_"):
                    drawn.setdefault(label, []).append({"points": collection.get_offsets().tolist(),
                                                        "face": collection.get_facecolor().tolist(),
                                                        "edge": collection.get_edgecolor().tolist()})
        drawn["title"] = " ".join(" ".join(ax.get_title() for ax in fig.axes).split())
        drawn["suptitle"] = fig._suptitle.get_text() if fig._suptitle else ""
        drawn["lines"] = {line.get_label(): line.get_xydata().copy() for ax in fig.axes for line in ax.lines
                          if not line.get_label().startswith("_")}
        return real_save(fig, path)

    monkeypatch.setattr(canvas, "save", spy)
    return seen


def test_convergence_draws_infeasible_trials_apart_and_the_best_so_far_among_the_feasible(tmp_path, monkeypatch):
    records = write_sweep(tmp_path, SPACES["one"], n_ok=10, n_failed=1, batch=2)
    # the three best values are over the budget
    ranked = sorted((r for r in records if r["status"] == "ok"), key=lambda r: r["value"])
    over = {r["number"] for r in ranked[:3]}
    infeasible = constrain(tmp_path, records, lambda r: 2.0 if r["number"] in over else 0.5)
    assert infeasible == over
    seen = _spy_collections(monkeypatch)
    assert_png(draw_only(tmp_path, "convergence", "objective")["convergence"])
    drawn = seen[CONVERGENCE_NAME]
    (hollow,) = drawn["infeasible (3): breaks 'size <= 1.0'"]
    assert sorted(int(x) for x, _ in hollow["points"]) == sorted(infeasible)
    assert hollow["face"] == [] or all(face[3] == 0 for face in hollow["face"])  # hollow
    assert all(edge[:3] == [0.5, 0.5, 0.5] for edge in hollow["edge"])  # grey
    (feasible,) = drawn["feasible trial"]
    ok = {r["number"]: r["value"] for r in records if r["status"] == "ok"}
    assert sorted(int(x) for x, _ in feasible["points"]) == sorted(set(ok) - infeasible)
    # the line follows the feasible trials only: the running best of their values
    line = drawn["lines"]["best feasible so far"]
    running, expected = math.inf, []
    for number in sorted(r["number"] for r in records):
        if number in ok and number not in infeasible:
            running = min(running, ok[number])
        if running < math.inf:
            expected.append((number, running))
    assert [int(x) for x, _ in line] == [n for n, _ in expected]
    assert [y for _, y in line] == pytest.approx([v for _, v in expected])
    assert min(y for _, y in line) > min(ok.values())  # never the infeasible best
    best = min((r for r in ranked if r["number"] not in infeasible), key=lambda r: r["value"])
    assert drawn["title"] == (f"Convergence: best feasible {best['value']:.6g} at trial #{best['number']} "
                              "(11 trials, 1 failed, 3 infeasible, 6 batches)")
    assert "red: best feasible trial" in seen[OBJECTIVE_NAME]["suptitle"]


def test_convergence_with_nothing_feasible_yet_says_so(tmp_path, monkeypatch):
    records = write_sweep(tmp_path, SPACES["one"], n_ok=4)
    constrain(tmp_path, records, lambda r: 2.0)
    seen = _spy_collections(monkeypatch)
    draw_only(tmp_path, "convergence", "objective")
    drawn = seen[CONVERGENCE_NAME]
    assert drawn["title"] == "Convergence: no feasible trial yet (4 trials, 0 failed, 4 infeasible, 2 batches)"
    assert len(drawn["infeasible (4): breaks 'size <= 1.0'"][0]["points"]) == 4
    assert len(drawn["lines"]["best feasible so far"]) == 0
    # objective.png: no best marker, and says why
    assert "no feasible trial yet" in seen[OBJECTIVE_NAME]["suptitle"]


def test_without_metric_constraints_convergence_is_drawn_as_before(tmp_path, monkeypatch):
    records = write_sweep(tmp_path, SPACES["one"], n_ok=8, n_failed=1)
    for record in records:  # metrics in the journal, but no constraint reads them
        record["metrics"] = {"size": 2.0}
    (tmp_path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    seen = _spy_collections(monkeypatch)
    draw_only(tmp_path, "convergence")
    drawn = seen[CONVERGENCE_NAME]
    assert set(drawn) == {"trial", "failed (1)", "title", "suptitle", "lines"}
    assert len(drawn["trial"][0]["points"]) == 8
    assert set(drawn["lines"]) == {"best so far", "batch boundary"}
    assert drawn["title"].startswith("Convergence: best ") and " infeasible" not in drawn["title"]


def test_unreadable_metric_constraints_draw_every_trial_as_feasible_with_a_warning(tmp_path, caplog):
    records = write_sweep(tmp_path, SPACES["one"], n_ok=4)
    constrain(tmp_path, records, lambda r: 2.0, spec="size <=")
    record = load_sweep(tmp_path)
    assert record.constraints is None and record.best() is not None
    assert "hydra.sweeper.metric_constraints='size <=': not a valid inequality" in caplog.text


def test_the_pareto_front_is_the_feasible_trials_and_the_infeasible_are_drawn_apart(tmp_path, monkeypatch):
    from hydra_skopt_sweeper.search.pareto import non_dominated

    records = write_front_sweep(tmp_path, 2, n_trials=24)
    done = [r for r in records if r["status"] == "ok"]
    front = np.array([r["values"] for r in done])
    on_front = [r["number"] for r, on in zip(done, non_dominated(front)) if on]
    over = set(on_front[::2])  # half the unconstrained front breaks the budget
    infeasible = constrain(tmp_path, records, lambda r: 2.0 if r["number"] in over else 0.5)
    seen = _spy_collections(monkeypatch)
    written = draw_only(tmp_path, "pareto", "hypervolume")
    assert_png(written["pareto"])
    drawn = seen[PARETO_NAME]
    (hollow,) = drawn[f"infeasible ({len(infeasible)})"]
    by_number = {r["number"]: r["values"] for r in done}
    assert np.allclose(sorted(map(tuple, hollow["points"])), sorted(tuple(by_number[n]) for n in infeasible))
    kept = [r for r in done if r["number"] not in infeasible]
    kept_front = [r["values"] for r, on in zip(kept, non_dominated(np.array([r["values"] for r in kept]))) if on]
    (front_points,) = [points for label, points in drawn.items() if label.startswith("on the front")]
    assert np.allclose(sorted(map(tuple, front_points[0]["points"])), sorted(map(tuple, kept_front)))
    assert drawn["title"].startswith(f"Pareto front: {len(kept_front)} of {len(kept)} feasible trials "
                                     f"({len(infeasible)} infeasible, 1 failed)")
    assert "inferred from the feasible trials" in drawn["title"]
    assert f"(24 trials, 1 failed, {len(infeasible)} infeasible, 12 batches)" in seen[HYPERVOLUME_NAME]["title"]


def test_three_objectives_draw_the_infeasible_trials_in_every_view(tmp_path, monkeypatch):
    records = write_front_sweep(tmp_path, 3, n_trials=16)
    infeasible = constrain(tmp_path, records, lambda r: 2.0 if r["number"] % 4 == 0 else 0.5)
    seen = _spy_collections(monkeypatch)
    draw_only(tmp_path, "pareto")
    views = seen[PARETO_NAME][f"infeasible ({len(infeasible)})"]
    assert len(views) == 3 and all(len(view["points"]) == len(infeasible) for view in views)


# -- importance.png, parallel.png, slices.png, and what the importance changes -----------------------

def fake_importance(record, order=None, objectives=None):
    """An importance as importance_of gives it, made by hand: ``order`` (the parameters'
    names, the most important first; the space's order unless given) with falling indices."""
    from hydra_skopt_sweeper.insight.importance import Importance, ParamImportance

    names = record.space.names if order is None else order
    params = tuple(ParamImportance(name, first=0.5 / (k + 1), total=0.8 / (k + 1), first_sd=0.01, total_sd=0.05)
                   for k, name in enumerate(names))
    return [Importance(label, params, len(record.finished)) for label in (objectives or ["objective (min)"])]


def _spy_texts(monkeypatch):
    """Every saved figure by file name: the texts of its axes, its axes' titles, labels and limits."""
    seen = {}
    real_save = canvas.save

    def spy(fig, path):
        seen[Path(path).name] = {
            "texts": [t.get_text() for ax in fig.axes for t in ax.texts],
            "axes": [{"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
                      "xlim": ax.get_xlim(), "ylim": ax.get_ylim(), "visible": ax.get_visible(),
                      "texts": [t.get_text() for t in ax.texts],
                      "collections": [c.get_label() for c in ax.collections],
                      "lines": [line.get_label() for line in ax.lines]} for ax in fig.axes],
            "suptitle": fig._suptitle.get_text() if fig._suptitle else "",
        }
        return real_save(fig, path)

    monkeypatch.setattr(canvas, "save", spy)
    return seen


def test_the_new_pictures_are_drawn_with_an_importance_and_the_importance_one_waits_for_it(tmp_path):
    write_sweep(tmp_path, SPACES["three"], n_ok=12, n_failed=2)
    record = load_sweep(tmp_path)
    written = draw_only(record, "importance", "parallel", "slices", importance=fake_importance(record))
    for name, file_name in (("importance", IMPORTANCE_NAME), ("parallel", PARALLEL_NAME), ("slices", SLICES_NAME)):
        assert written[name] == tmp_path / file_name
        assert_png(written[name])
    (tmp_path / IMPORTANCE_NAME).unlink()
    assert parameters.draw_importance([], tmp_path / IMPORTANCE_NAME) is None
    empty = fake_importance(record, order=[])  # an objective without parameters: nothing to draw either
    assert parameters.draw_importance(empty, tmp_path / IMPORTANCE_NAME) is None
    assert not (tmp_path / IMPORTANCE_NAME).exists()
    assert draw.picture_names(False) == ("convergence.png", "objective.png", "slices.png", "importance.png",
                                          "parallel.png", "curves.png")
    assert draw.picture_names(True) == ("pareto.png", "hypervolume.png", "importance.png", "parallel.png",
                                         "curves.png")


def test_parallel_and_slices_wait_for_two_completed_trials(tmp_path):
    write_sweep(tmp_path, SPACES["three"], n_ok=1, n_failed=1)
    written = draw_plots(tmp_path)
    assert (written["parallel"], written["slices"]) == (None, None)
    assert not (tmp_path / PARALLEL_NAME).exists() and not (tmp_path / SLICES_NAME).exists()
    write_sweep(tmp_path, SPACES["three"], n_ok=2, n_failed=2)
    written = draw_plots(tmp_path)
    assert_png(written["parallel"])
    assert_png(written["slices"])


@pytest.mark.slow
def test_draw_plots_fits_the_model_once_and_measures_the_importance_on_it(tmp_path, monkeypatch):
    write_sweep(tmp_path, SPACES["three"], n_ok=10)
    fits, asked = [], []
    real_fit = draw.fit_surface

    def fit(record):
        fits.append(real_fit(record))
        return fits[-1]

    def importance_of(record, *, surface=None):
        asked.append(surface)
        return fake_importance(record)

    from hydra_skopt_sweeper.insight import importance, surface

    for module in (draw, surface):
        monkeypatch.setattr(module, "fit_surface", fit)
    for module in (draw, importance):
        monkeypatch.setattr(module, "importance_of", importance_of)
    written = draw_plots(tmp_path)
    assert len(fits) == 1 and asked == fits  # objective.png's model, fitted once, and the importance's
    assert_png(written["importance"])
    asked.clear()
    draw_only(tmp_path, importance=[])  # given: not computed again (and no picture drawn)
    assert asked == []


@pytest.mark.slow
@pytest.mark.parametrize("maximize", [False, True])
def test_the_colour_bars_say_which_end_is_better(tmp_path, monkeypatch, maximize):
    write_sweep(tmp_path, SPACES["three"], n_ok=12, maximize=maximize)
    seen = _spy_texts(monkeypatch)
    draw_only(tmp_path, "objective", "parallel")
    for name in (OBJECTIVE_NAME, PARALLEL_NAME):
        (bar,) = [ax for ax in seen[name]["axes"] if {"better", "worse"} <= set(ax["texts"])]
        # "better" is at the top of the bar: the low end there when minimising
        low, high = bar["ylim"]
        assert (low < high) == maximize


@pytest.mark.slow
def test_objective_draws_only_the_most_important_parameters_in_their_order(tmp_path, monkeypatch):
    write_sweep(tmp_path, SPACES["ten"], n_ok=14)
    record = load_sweep(tmp_path)
    order = ["act", "p7", "layers", "p0", "p3", "p5", "p1", "p2", "p4", "p6"]
    seen = _spy_texts(monkeypatch)
    draw_only(record, "objective", importance=fake_importance(record, order))
    drawn = seen[OBJECTIVE_NAME]
    # the diagonal's curves are labelled on top: one per parameter drawn, in the importance's order
    curves = [ax["xlabel"] for ax in drawn["axes"] if ax["visible"] and ax["lines"] and ax["ylabel"]]
    assert curves == order[:6]
    assert "the 6 most important of 10 parameters, in that order (4 left out)" in drawn["suptitle"]
    # no more than the limit: the space's own order, whatever the importance says
    write_sweep(tmp_path / "three", SPACES["three"], n_ok=12)
    record = load_sweep(tmp_path / "three")
    draw_only(record, "objective", importance=fake_importance(record, ["opt", "n", "x"]))
    drawn = seen[OBJECTIVE_NAME]
    assert [ax["xlabel"] for ax in drawn["axes"] if ax["visible"] and ax["lines"] and ax["ylabel"]] == ["x", "n", "opt"]
    assert "left out" not in drawn["suptitle"]


def test_value_axis_limit_follows_the_best_half():
    limit = canvas.value_axis_limit
    # the best half of [1, 2, 3, 4, 100] is 1, 2, 3: spread 2, so the axis ends at 3 + 6 * 2
    assert limit([4, 100, 1, 3, 2], maximize=False) == 15.0
    assert limit([-4, -100, -1, -3, -2], maximize=True) == -15.0
    # an even count: the best half of 8 values is 4
    assert limit([0.5, 0.1, 0.2, 0.4, 0.3, 9, 8, 7], maximize=False) == pytest.approx(0.4 + 6 * 0.3)
    assert limit([1, 2, 50], maximize=False) is None  # too few to tell the good from the rest
    assert limit([1, 1, 1, 5, 9], maximize=False) is None  # the good half all equal: no scale
    assert limit([float("nan"), float("inf"), 1, 2, 3, 4, 100], maximize=False) == 15.0  # only finite values count


def test_convergence_draws_the_trials_far_beyond_the_good_ones_on_its_edge(tmp_path, monkeypatch):
    records = write_sweep(tmp_path, SPACES["one"], n_ok=10)
    good = [0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14, 0.12, 0.09]
    for record, value in zip(records, good):
        record["value"] = value
    records[3]["value"] = 5.0  # diverged
    records[6].update(status="pruned", value=1.0)  # stopped early, at a poor value
    (tmp_path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    seen = _spy_collections(monkeypatch)
    draw_only(tmp_path, "convergence")
    drawn = seen[CONVERGENCE_NAME]
    (beyond,) = drawn["beyond the axis (2)"]
    assert sorted(int(x) for x, _ in beyond["points"]) == [3, 6]
    assert all(y == 1.0 for _, y in beyond["points"])  # on the top edge (axes fraction): minimised
    assert sorted(int(x) for x, _ in drawn["trial"][0]["points"]) == [0, 1, 2, 4, 5, 7, 8, 9]
    assert drawn["pruned (1): value when stopped"][0]["points"] == []  # counted, drawn on the edge


@pytest.mark.slow
def test_parallel_draws_completed_and_pruned_trials_and_says_the_failed_are_left_out(tmp_path, monkeypatch):
    records = write_sweep(tmp_path, SPACES["three"], n_ok=10, n_failed=2)
    records[4].update(status="pruned")
    (tmp_path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    seen = _spy_texts(monkeypatch)
    best = load_sweep(tmp_path).best()
    draw_only(tmp_path, "parallel")
    drawn = seen[PARALLEL_NAME]
    (main,) = [ax for ax in drawn["axes"] if ax["title"]]
    assert "Parallel coordinates: 9 completed trials" in main["title"]
    assert "failed trials, not drawn: 2" in main["title"]
    assert "pruned (1): value when stopped" in main["collections"]
    assert f"best: trial #{best.number}" in main["lines"]
    # the options of a categorical parameter label its axis
    assert {"adam", "sgd", "rmsprop", "16", "64"} <= set(main["texts"])


def test_parallel_marks_infeasible_trials_and_several_objectives_highlight_the_front(tmp_path, monkeypatch):
    records = write_front_sweep(tmp_path, 2, n_trials=16)
    infeasible = constrain(tmp_path, records, lambda r: 2.0 if r["number"] % 5 == 0 else 0.5)
    seen = _spy_texts(monkeypatch)
    written = draw_only(tmp_path, "parallel", "slices")
    assert written.get("slices") is None and not (tmp_path / SLICES_NAME).exists()  # one objective's picture
    (main,) = [ax for ax in seen[PARALLEL_NAME]["axes"] if ax["title"]]
    assert f"infeasible ({len(infeasible)}): breaks 'size <= 1.0'" in main["collections"]
    front = load_sweep(tmp_path).front()
    assert f"on the front ({int(front.on_front.sum())})" in main["lines"]


def test_slices_draw_at_most_the_most_important_parameters(tmp_path, monkeypatch):
    space = {f"q{i}": dict(REAL, override_key=f"q{i}") for i in range(20)}
    write_sweep(tmp_path, space, n_ok=6)
    record = load_sweep(tmp_path)
    order = [f"q{i}" for i in reversed(range(20))]
    seen = _spy_texts(monkeypatch)
    assert_png(parameters.draw_slices(record, tmp_path / SLICES_NAME, fake_importance(record, order)))
    drawn = seen[SLICES_NAME]
    panels = [ax["xlabel"] for ax in drawn["axes"] if ax["visible"] and ax["xlabel"] != "trial number"
              and ax["xlabel"]]
    assert panels == order[:12]
    assert "8 less important parameters left out" in drawn["suptitle"]
    assert "by importance" in drawn["suptitle"]


def test_parallel_lines_pass_over_the_axis_of_an_inactive_conditional_parameter(tmp_path, monkeypatch):
    space = {"opt": SPACES["three"]["opt"], "x": dict(REAL, override_key="x"),
             "momentum": {"kind": "real", "override_key": "momentum", "low": 0.0, "high": 0.99, "log": False,
                          "when": "opt == 'sgd'"}}
    records = write_sweep(tmp_path, space, n_ok=12)
    for record in records:
        if record["params"]["opt"] != "sgd":
            del record["params"]["momentum"]
    (tmp_path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    record = load_sweep(tmp_path)
    points = {}
    real_save = canvas.save

    def spy(fig, path):
        from matplotlib.collections import LineCollection

        (coloured,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
        points["lines"] = sorted(len(segment) for segment in coloured.get_segments())
        return real_save(fig, path)

    monkeypatch.setattr(canvas, "save", spy)
    parameters.draw_parallel(record, tmp_path / PARALLEL_NAME)
    best = record.best().number
    # one line per trial but the best (drawn apart): through opt, x, momentum where it has one, the value
    assert points["lines"] == sorted(4 if r["params"]["opt"] == "sgd" else 3 for r in records if r["number"] != best)
