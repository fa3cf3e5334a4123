"""plots.py: convergence.png and objective.png from a sweep dir alone, and the background refresher."""
import json
import math
import random
import sys
import time
import warnings
from pathlib import Path

import pytest

from hydra_skopt_sweeper import plots
from hydra_skopt_sweeper.plots import (
    CONVERGENCE_NAME,
    OBJECTIVE_NAME,
    PlotRefresher,
    best_so_far,
    draw_plots,
    fit_gp_result,
    load_sweep,
    min_trials_for_objective,
)

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


@pytest.mark.parametrize("kind, n_ok", [("one", 6), ("three", 12), ("ten", 14)])
def test_draws_both_pictures(tmp_path, kind, n_ok):
    write_sweep(tmp_path, SPACES[kind], n_ok=n_ok, n_failed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Hydra's tests run sweeps with -Werror
        written = draw_plots(tmp_path)
    assert written == {"convergence": tmp_path / CONVERGENCE_NAME, "objective": tmp_path / OBJECTIVE_NAME,
                       "curves": None}  # no trial reported a curve
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


def test_objective_waits_for_enough_successful_trials(tmp_path):
    space = SPACES["three"]
    need = min_trials_for_objective(len(space))
    assert need == 4
    # failed trials do not count towards the GP
    write_sweep(tmp_path, space, n_ok=need - 1, n_failed=3)
    written = draw_plots(tmp_path)
    assert_png(tmp_path / CONVERGENCE_NAME)
    assert written["objective"] is None
    assert not (tmp_path / OBJECTIVE_NAME).exists()

    write_sweep(tmp_path, space, n_ok=need, n_failed=3)
    assert draw_plots(tmp_path)["objective"] == tmp_path / OBJECTIVE_NAME
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

    # objective: the GP is told losses (negated values), the plotted model predicts values
    loss_result = fit_gp_result(record)
    assert list(loss_result.func_vals) == [-v for v in values]
    assert loss_result.fun == -max(values)
    plotted = fit_gp_result(record, user_scale=True)
    predicted = plotted.models[-1].predict(plotted.space.transform(plotted.x_iters))
    assert min(predicted) > 0
    assert abs(max(predicted) - max(values)) < 0.25 * (max(values) - min(values))

    draw_plots(record)
    assert_png(tmp_path / OBJECTIVE_NAME)


def test_convergence_ylabel_names_the_monitor_and_direction(tmp_path, monkeypatch):
    write_sweep(tmp_path, SPACES["one"], n_ok=5, maximize=True)
    (tmp_path / "multirun.yaml").write_text("hydra:\n  sweeper:\n    monitor: val_acc\n    n_calls: 9\n")
    record = load_sweep(tmp_path)
    assert (record.objective_name, record.n_calls) == ("val_acc", 9)
    labels = []
    real_save = plots._save

    def spy(fig, path):
        labels.extend(ax.get_ylabel() for ax in fig.axes)
        return real_save(fig, path)

    monkeypatch.setattr(plots, "_save", spy)
    plots.draw_convergence(record, tmp_path / CONVERGENCE_NAME)
    assert labels == ["val_acc (maximised)"]


def test_batch_boundaries_and_failures_are_drawn(tmp_path, monkeypatch):
    write_sweep(tmp_path, SPACES["one"], n_ok=7, n_failed=2, batch=3)  # 9 trials: batches 1, 2, 3
    record = load_sweep(tmp_path)
    seen = {}
    real_save = plots._save

    def spy(fig, path):
        ax = fig.axes[0]
        seen["vlines"] = sorted(line.get_xdata()[0] for line in ax.lines
                                if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1])
        seen["legend"] = [t.get_text() for t in ax.get_legend().get_texts()]
        return real_save(fig, path)

    monkeypatch.setattr(plots, "_save", spy)
    plots.draw_convergence(record, tmp_path / CONVERGENCE_NAME)
    assert seen["vlines"] == [2.5, 5.5]
    assert "failed (2)" in seen["legend"] and "best so far" in seen["legend"]


# -- PlotRefresher ----------------------------------------------------------------------------------

# Stands in for the drawing process: answers each sweep dir after a sleep, fails if two
# drawings overlap, records each drawing and the pid of the process that drew it.
_FAKE_SERVER = (
    "import os, sys, time\n"
    "for line in sys.stdin:\n"
    "    d = line.strip()\n"
    "    fd = os.open(os.path.join(d, 'lock'), os.O_CREAT | os.O_EXCL)\n"
    "    time.sleep(float(sys.argv[1]))\n"
    "    os.close(fd); os.remove(os.path.join(d, 'lock'))\n"
    "    open(os.path.join(d, 'runs'), 'a').write(f'{os.getpid()} ')\n"
    "    print('ok', flush=True)\n"
)


def _fake_refresher(sleep_s):
    refresher = PlotRefresher()
    refresher.command = lambda: [sys.executable, "-c", _FAKE_SERVER, str(sleep_s)]
    return refresher


def _drawings(sweep_dir):
    return (sweep_dir / "runs").read_text().split()


def test_refresher_runs_one_drawing_at_a_time_and_draws_the_last_refresh(tmp_path):
    refresher = _fake_refresher(0.5)
    started = time.perf_counter()
    for version in range(5):
        refresher.refresh(tmp_path, version=version)
    assert time.perf_counter() - started < 0.5  # refresh never waits for a drawing
    assert refresher.running()
    assert refresher.wait(timeout=30)
    assert refresher.failures == 0  # never two at once (the lock file would have failed one)
    assert refresher.started == 2  # the first, then one for the four that came while it ran
    assert not refresher.running()
    refresher.refresh(tmp_path, version=4)  # the same state again: nothing to draw
    refresher.refresh(tmp_path, version=5)
    assert refresher.wait(timeout=30)
    drawings = _drawings(tmp_path)
    assert len(drawings) == 3 and len(set(drawings)) == 1  # one process drew them all
    refresher.close()


def test_refresher_wait_times_out_while_drawing(tmp_path):
    refresher = _fake_refresher(1.5)
    refresher.refresh(tmp_path)
    assert refresher.wait(timeout=0.1) is False
    assert refresher.wait(timeout=30) is True
    assert refresher.started == 1
    refresher.close()


def test_a_drawing_process_that_dies_is_a_failure_and_the_next_refresh_starts_another(tmp_path, caplog):
    refresher = PlotRefresher()
    refresher.command = lambda: [sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)"]
    refresher.refresh(tmp_path)
    assert refresher.wait(timeout=30) and refresher.failures == 1
    refresher.command = lambda: [sys.executable, "-c", _FAKE_SERVER, "0"]
    refresher.refresh(tmp_path)
    assert refresher.wait(timeout=30) and refresher.failures == 1
    assert len(_drawings(tmp_path)) == 1
    refresher.close()


def test_refresher_draws_the_real_plots_in_the_background(tmp_path):
    write_sweep(tmp_path, SPACES["three"], n_ok=6)
    refresher = PlotRefresher()
    refresher.refresh(tmp_path)
    write_sweep(tmp_path, SPACES["three"], n_ok=9, seed=1)  # a batch returned meanwhile
    written_after = time.time()
    refresher.refresh(tmp_path)
    assert refresher.wait(timeout=120)
    assert refresher.failures == 0, (tmp_path / plots.PLOTS_LOG_NAME).read_text()
    refresher.close()
    assert_png(tmp_path / CONVERGENCE_NAME)
    assert_png(tmp_path / OBJECTIVE_NAME)
    # the last drawing started after the last refresh, so it saw all 9 trials
    assert (tmp_path / CONVERGENCE_NAME).stat().st_mtime >= written_after


def test_refresher_reports_a_failed_drawing(tmp_path, caplog):
    refresher = PlotRefresher()
    refresher.refresh(tmp_path)  # no trials.jsonl: the drawing fails, the process lives on
    assert refresher.wait(timeout=60)
    refresher.close()
    assert refresher.failures == 1
    assert "trials.jsonl" in (tmp_path / plots.PLOTS_LOG_NAME).read_text()
    assert any("Drawing the plots failed" in r.getMessage() for r in caplog.records)


def test_disabled_refresher_does_nothing(tmp_path):
    refresher = PlotRefresher(enabled=False)
    refresher.refresh(tmp_path)
    assert refresher.wait(timeout=0) and refresher.started == 0


def test_objective_name_falls_back_to_the_apps_monitor_key(tmp_path):
    write_sweep(tmp_path, SPACES["one"], n_ok=3)
    (tmp_path / "multirun.yaml").write_text("monitor: val_loss\nhydra:\n  sweeper:\n    monitor: null\n")
    assert load_sweep(tmp_path).objective_name == "val_loss"
    (tmp_path / "multirun.yaml").write_text("hydra:\n  sweeper:\n    n_calls: 3\n")
    assert load_sweep(tmp_path).objective_name == "objective"


@pytest.mark.parametrize("n_samples", [1, 40])
def test_batched_partial_dependence_matches_skopts(tmp_path, n_samples):
    """objective.png's values are skopt's own: the batched curves and maps equal
    skopt.plots.partial_dependence_1D/2D on a space with a real, a grid and a categorical."""
    import numpy as np
    import skopt.plots as skplots

    write_sweep(tmp_path, SPACES["three"], n_ok=12)
    result = fit_gp_result(load_sweep(tmp_path))
    space, model = result.space, result.models[-1]
    samples = space.transform(space.rvs(n_samples=n_samples, random_state=3))
    for i in range(3):
        xs, ys = skplots.partial_dependence_1D(space, model, i, samples, n_points=7)
        batched_xs, batched_ys = plots._partial_dependence_1d(space, model, i, samples, n_points=7)
        assert list(batched_xs) == list(xs)
        np.testing.assert_allclose(batched_ys, ys, rtol=1e-10, atol=1e-12)
        for j in range(i):
            xs, ys, zs = skplots.partial_dependence_2D(space, model, i, j, samples, n_points=5)
            batched = plots._partial_dependence_2d(space, model, i, j, samples, n_points=5)
            assert list(batched[0]) == list(xs) and list(batched[1]) == list(ys)
            assert batched[2].shape == np.asarray(zs).shape
            np.testing.assert_allclose(batched[2], zs, rtol=1e-10, atol=1e-12)


def test_batched_partial_dependence_is_undone_after_drawing(tmp_path):
    import skopt.plots as skplots

    originals = skplots.partial_dependence_1D, skplots.partial_dependence_2D
    write_sweep(tmp_path, SPACES["three"], n_ok=12)
    assert plots.draw_objective(load_sweep(tmp_path), tmp_path / OBJECTIVE_NAME) is not None
    assert (skplots.partial_dependence_1D, skplots.partial_dependence_2D) == originals


@pytest.mark.skipif(plots.STOP_SIGNAL is None, reason="stopping a drawing needs SIGUSR1 (POSIX)")
def test_wait_stops_a_stale_drawing_and_draws_the_newest(tmp_path):
    """The end of a sweep waits for one drawing, not two: a drawing that a newer refresh made
    stale is stopped (its old pictures stay whole), and the newest state is drawn."""
    import os
    import signal

    slow, newest = tmp_path / "slow", tmp_path / "newest"
    write_sweep(slow, SPACES["ten"], n_ok=60)  # objective.png takes seconds
    write_sweep(newest, SPACES["three"], n_ok=9)
    refresher = PlotRefresher()
    refresher.refresh(newest, version=0)
    assert refresher.wait(timeout=120)  # the process is up and has said it can be stopped
    refresher.refresh(slow, version=1)
    time.sleep(0.5)  # it is drawing the slow one now
    refresher.refresh(newest, version=2)
    redrawn_after = time.time()
    assert refresher.wait(timeout=120)
    assert (refresher.started, refresher.stopped, refresher.failures) == (3, 1, 0)
    assert not (slow / OBJECTIVE_NAME).exists()  # stopped before it was written
    assert no_temporary_files(slow) == []
    assert (newest / OBJECTIVE_NAME).stat().st_mtime >= redrawn_after
    # the signal between drawings stops nothing, and the process goes on drawing
    os.kill(refresher._proc.pid, signal.SIGUSR1)
    refresher.refresh(newest, version=3)
    assert refresher.wait(timeout=120)
    assert (refresher.started, refresher.stopped, refresher.failures) == (4, 1, 0)
    refresher.close()


@pytest.mark.parametrize("n_train", [10, 400])
def test_batched_partial_dependence_bounds_each_predict_call(n_train):
    """The batched curves ask the GP for rows x training points <= the chunk budget per call,
    so a 400-trial sweep's drawing stays as small as skopt's (1.1 GB before the bound)."""
    import numpy as np

    class RecordingModel:
        X_train_ = np.zeros((n_train, 3))

        def __init__(self):
            self.calls = []

        def predict(self, rows):
            self.calls.append(len(rows))
            return rows.sum(axis=1)

    model = RecordingModel()
    samples = np.random.RandomState(0).rand(150, 3)
    settings = [[(slice(0, 1), x / 24), (slice(1, 2), y / 24)] for y in range(24) for x in range(24)]
    means = plots._mean_predictions(model, samples, settings)
    assert len(means) == 24 * 24 and sum(model.calls) == 24 * 24 * 150
    assert max(model.calls) * n_train <= max(plots._PREDICT_CHUNK_ELEMENTS, 150 * n_train)
    expected = [x / 24 + y / 24 + samples[:, 2].mean() for y in range(24) for x in range(24)]
    np.testing.assert_allclose(means, expected)


def test_integer_params_get_integer_ticks(tmp_path, monkeypatch):
    """skopt puts 1.2, 1.6, ... on an integer param's axes; objective.png shows 1, 2, 3."""
    import numpy as np

    space = {"x": dict(REAL, override_key="x"),
             "layers": {"kind": "int", "override_key": "layers", "low": 1, "high": 3, "log": False}}
    write_sweep(tmp_path, space, n_ok=8)
    ticks = {}
    save = plots._save

    def inspect_then_save(fig, path):  # _save clears the figure
        axes = np.array(fig.axes[1:], dtype=object).reshape(2, 2)
        # the curve of layers, and the contour map's rows
        for name, axis in (("curve", axes[1, 1].xaxis), ("map", axes[1, 0].yaxis)):
            low, high = axis.get_view_interval()
            ticks[name] = [float(t) for t in axis.get_major_locator()() if low - 1e-9 <= t <= high + 1e-9]
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", inspect_then_save)
    assert plots.draw_objective(load_sweep(tmp_path), tmp_path / OBJECTIVE_NAME) is not None
    assert ticks == {"curve": [1, 2, 3], "map": [1, 2, 3]}
