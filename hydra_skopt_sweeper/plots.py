"""Pictures of a sweep, drawn from its directory alone: ``convergence.png``, ``objective.png``
and, when trials report learning curves, ``curves.png``.

Everything here reads what the loop already writes (``trials.jsonl``, ``search_space.json``,
and, for labels only, ``multirun.yaml``), so the same pictures come from a finished sweep, a
running one, or one that was killed:

* ``convergence.png``: every trial's value (the user's value, not the sign-flipped loss the GP
  is told) against its trial number, the best value so far as a line, batch boundaries as light
  vertical lines, pruned trials as hollow grey dots (their value when stopped) and failed
  trials as red crosses on the edge of the plot;
* ``curves.png``: every trial's learning curve (``.curves/``, see :mod:`.pruning`), pruned ones
  dashed, the best trial's highlighted;
* ``objective.png``: skopt's partial-dependence plot (``skopt.plots.plot_objective``) of a GP
  fitted on the successful trials, once there are enough of them for a GP
  (:func:`min_trials_for_objective`). Categorical parameters show their options; grid
  parameters (``range`` with a step) are searched as an index and shown with their real values.

Drawing costs seconds (importing skopt and matplotlib, fitting the GP, evaluating the partial
dependence), so the sweep loop never draws itself: :class:`PlotRefresher` hands the sweep dir
to one background process (``python -m hydra_skopt_sweeper.plots --serve``), one drawing at a
time. This module imports neither matplotlib nor skopt at import time.
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .journal import JOURNAL_NAME, RESULTS_NAME, SPACE_NAME, Trial, best_trial, read_trials

log = logging.getLogger(__name__)

CONVERGENCE_NAME = "convergence.png"
OBJECTIVE_NAME = "objective.png"
CURVES_NAME = "curves.png"
MULTIRUN_NAME = "multirun.yaml"
PLOTS_LOG_NAME = ".plots.log"
# The drawing process's lines: it is ready for STOP_SIGNAL, a drawing ended, a drawing was stopped.
READY, DRAWN, FAILED, STOPPED = "ready", "ok", "failed", "stopped"
# Sent to the drawing process to stop a drawing a newer refresh has made stale (POSIX only).
STOP_SIGNAL = getattr(signal, "SIGUSR1", None)
# Set in the drawing process by STOP_SIGNAL; the drawing then stops at its next stop point.
_stop_requested = threading.Event()


class _DrawingStopped(BaseException):
    """A stale drawing stopped at a stop point (a BaseException: nothing between catches it)."""


def _stop_point() -> None:
    """Where a drawing may stop: only in this module's code, never inside matplotlib's or
    skopt's (a signal handler that raised there could leave their state half-changed)."""
    if _stop_requested.is_set():
        raise _DrawingStopped()


def min_trials_for_objective(n_dims: int) -> int:
    """Successful trials needed before ``objective.png`` is drawn: a GP needs a few points."""
    return max(3, n_dims + 1)


# -- reading a sweep dir ----------------------------------------------------------------------


@dataclass
class SweepRecord:
    """What a sweep dir says about its sweep; any piece may be missing while it runs."""

    sweep_dir: Path
    trials: List[Trial]
    space: Optional[Any] = None  # SearchSpace, or None before search_space.json exists
    maximize: bool = False
    objective_name: str = "objective"
    n_calls: Optional[int] = None
    results: Dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> List[Trial]:
        return [t for t in self.trials if _usable(t)]

    @property
    def n_failed(self) -> int:
        return sum(1 for t in self.trials if t.failed)

    @property
    def n_pruned(self) -> int:
        return sum(1 for t in self.trials if t.pruned)

    def best(self) -> Optional[Trial]:
        return best_trial(self.trials, self.maximize)


def load_sweep(sweep_dir: Path) -> SweepRecord:
    """Read a sweep dir: journal (a torn last line is skipped), space, direction, labels."""
    sweep_dir = Path(sweep_dir)
    trials = sorted(read_trials(sweep_dir / JOURNAL_NAME), key=lambda t: t.number)
    record = SweepRecord(sweep_dir=sweep_dir, trials=trials)

    results = _read_yaml(sweep_dir / RESULTS_NAME)
    record.results = results if isinstance(results, dict) else {}
    sweeper: Dict[str, Any] = {}
    multirun = _read_yaml(sweep_dir / MULTIRUN_NAME)
    if isinstance(multirun, dict):
        sweeper = _resolved_sweeper(multirun)

    maximize: Any = None
    space_file = sweep_dir / SPACE_NAME
    if space_file.is_file():
        try:
            described = json.loads(space_file.read_text(encoding="utf-8"))
            from .search_space import SearchSpace

            record.space = SearchSpace.from_description(described.get("params", {}))
            maximize = described.get("maximize")
            sweeper = {**sweeper, **({"n_calls": described["n_calls"]} if "n_calls" in described else {})}
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("%s: unreadable (%s); drawing without the search space", space_file, error)
    if maximize is None:
        maximize = record.results.get("maximize", sweeper.get("maximize"))
    record.maximize = bool(maximize)
    # the name of what the trials return: the sweeper's monitor key, else the app's own
    # top-level `monitor` (a Lightning convention, e.g. the example app's val_loss) or
    # `optimized_metric` (lightning-hydra-template's)
    monitor = sweeper.get("monitor")
    for key in ("monitor", "optimized_metric"):
        if not (isinstance(monitor, str) and monitor) and isinstance(multirun, dict):
            monitor = multirun.get(key)
    if isinstance(monitor, str) and monitor and "${" not in monitor:
        record.objective_name = monitor
    n_calls = sweeper.get("n_calls")
    if isinstance(n_calls, int) and not isinstance(n_calls, bool):
        record.n_calls = n_calls
    return record


def _resolved_sweeper(multirun: Dict[str, Any]) -> Dict[str, Any]:
    """``hydra.sweeper`` of a saved multirun.yaml, each field's interpolations resolved against
    the saved config where they can be (``monitor: ${optimized_metric}``), else left out."""
    from omegaconf import OmegaConf

    config = OmegaConf.create(multirun)
    node = OmegaConf.select(config, "hydra.sweeper")
    if node is None or not OmegaConf.is_dict(node):
        return {}
    sweeper: Dict[str, Any] = {}
    for key in node:
        try:
            value = node[key]
            sweeper[str(key)] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        except Exception:  # e.g. ${hydra:...} needs a running Hydra: that field is unknown here
            continue
    return sweeper


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        import yaml

        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception as error:  # a half-written or hand-edited file: labels only, carry on
        log.debug("%s: unreadable (%s)", path, error)
        return None


def _usable(trial: Trial) -> bool:
    return trial.ok and trial.value is not None and math.isfinite(trial.value)


def direction_word(maximize: bool) -> str:
    return "maximised" if maximize else "minimised"


# -- drawing ------------------------------------------------------------------------------------


def draw_plots(sweep: "SweepRecord | Path", out_dir: Optional[Path] = None) -> Dict[str, Optional[Path]]:
    """Draw ``convergence.png`` and, with enough successful trials, ``objective.png``.

    Returns ``{"convergence": path, "objective": path or None, "curves": path or None}``
    (``curves.png`` when some trial reported a learning curve). Files are written atomically
    (a temporary file, then ``os.replace``); warnings are silenced and no figure is left open.
    """
    record = sweep if isinstance(sweep, SweepRecord) else load_sweep(Path(sweep))
    out_dir = Path(out_dir) if out_dir is not None else record.sweep_dir
    written: Dict[str, Optional[Path]] = {"convergence": None, "objective": None, "curves": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written["convergence"] = draw_convergence(record, out_dir / CONVERGENCE_NAME)
        _stop_point()
        written["curves"] = draw_curves(record, out_dir / CURVES_NAME)
        _stop_point()
        if record.space is not None and record.space.params:
            written["objective"] = draw_objective(record, out_dir / OBJECTIVE_NAME)
    return written


def _figure(figsize, dpi=100):
    """A Figure outside pyplot's global state (nothing to close, nothing leaks)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi)


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _stop_point()  # before the costliest step: rendering
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
        fig.clear()
    return path


def best_so_far(trials: Sequence[Trial], maximize: bool) -> List[Tuple[int, float]]:
    """``(trial number, best value up to it)`` in trial order, in the user's values."""
    pick = max if maximize else min
    series: List[Tuple[int, float]] = []
    best: Optional[float] = None
    for trial in sorted(trials, key=lambda t: t.number):
        if _usable(trial):
            best = trial.value if best is None else pick(best, trial.value)
        if best is not None:
            series.append((trial.number, best))
    return series


def draw_convergence(record: SweepRecord, path: Path) -> Path:
    """Best value so far against trial number; every trial a dot, failures and batches marked."""
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    trials = record.trials
    maximize = record.maximize
    fig = _figure((8.0, 4.8))
    ax = fig.add_subplot()

    ok = [t for t in trials if _usable(t)]
    if ok:
        ax.scatter([t.number for t in ok], [t.value for t in ok], s=22, color="C0", alpha=0.75,
                   zorder=3, label="trial")
        series = best_so_far(trials, maximize)
        steps_x, steps_y = [n for n, _ in series], [b for _, b in series]
        ax.step(steps_x, steps_y, where="post", color="C1", lw=2, zorder=4, label="best so far")
        values = [t.value for t in ok]
        if min(values) > 0 and max(values) / min(values) > 1e3:
            ax.set_yscale("log")

    pruned = [t for t in trials if t.pruned and t.value is not None and math.isfinite(t.value)]
    if pruned:
        ax.scatter([t.number for t in pruned], [t.value for t in pruned], s=22, facecolors="none",
                   edgecolors="0.55", zorder=3, label=f"pruned ({len(pruned)}): value when stopped")
    failed = [t for t in trials if t.failed or (t.ok and not _usable(t))]
    if failed:
        # failures have no value: a cross on the "bad" edge of the plot
        edge = 0.04 if maximize else 0.96
        ax.scatter([t.number for t in failed], [edge] * len(failed), marker="x", color="red",
                   s=40, zorder=5, clip_on=False, label=f"failed ({len(failed)})",
                   transform=blended_transform_factory(ax.transData, ax.transAxes))

    batches = 0
    previous = None
    for trial in trials:
        if trial.batch is None:
            continue
        if previous is not None and trial.batch != previous:
            ax.axvline(trial.number - 0.5, color="0.85", lw=0.8, zorder=0)
        if trial.batch != previous:
            batches += 1
        previous = trial.batch
    if batches > 1:
        ax.plot([], [], color="0.85", lw=0.8, label="batch boundary")

    ax.set_xlabel("trial number")
    ax.set_ylabel(f"{record.objective_name} ({direction_word(maximize)})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if trials:
        ax.set_xlim(trials[0].number - 0.7, trials[-1].number + 0.7)
    best_trial_ = record.best()
    counts = (f"{len(trials)} trials, {len(failed)} failed" + (f", {len(pruned)} pruned" if pruned else "")
              + (f", {batches} batches" if batches else ""))
    if best_trial_ is None:
        ax.set_title(f"Convergence: no successful trial yet ({counts})")
    else:
        ax.set_title(f"Convergence: best {best_trial_.value:.6g} at trial #{best_trial_.number} ({counts})")
    ax.grid(True, axis="y", color="0.93")
    if trials:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


def draw_curves(record: SweepRecord, path: Path) -> Optional[Path]:
    """Every trial's learning curve against its step: completed trials solid, pruned ones
    dashed, the best trial's thick; None when no trial reported a curve."""
    from matplotlib.ticker import MaxNLocator

    from .pruning import read_curves

    curves = read_curves(record.sweep_dir)
    if not curves:
        return None
    by_number = {t.number: t for t in record.trials}
    best = record.best()
    fig = _figure((8.0, 4.8))
    ax = fig.add_subplot()
    for number, curve in sorted(curves.items()):
        trial = by_number.get(number)
        if best is not None and number == best.number:
            continue  # drawn last, on top
        steps, values = [s for s, _ in curve], [v for _, v in curve]
        pruned = trial is not None and trial.pruned
        ax.plot(steps, values, color="0.6" if pruned else "C0", lw=0.9, alpha=0.8,
                linestyle="--" if pruned else "-")
    if best is not None and best.number in curves:
        curve = curves[best.number]
        ax.plot([s for s, _ in curve], [v for _, v in curve], color="C1", lw=2.5, zorder=5,
                label=f"best: trial #{best.number}")
    ax.plot([], [], color="C0", lw=0.9, label="completed")
    if record.n_pruned:
        ax.plot([], [], color="0.6", lw=0.9, linestyle="--", label=f"pruned ({record.n_pruned})")
    values = sorted(v for curve in curves.values() for _, v in curve)
    if values[0] > 0 and values[-1] / values[0] > 1e3:
        ax.set_yscale("log")
    else:  # a few diverging trials must not flatten every other curve: clip at the 90th percentile
        low, high = (values[0], values[int(0.9 * (len(values) - 1))]) if not record.maximize else \
            (values[int(0.1 * (len(values) - 1))], values[-1])
        if high > low:
            margin = 0.08 * (high - low)
            ax.set_ylim(low - margin, high + margin)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step (reported by the trial)")
    ax.set_ylabel(f"{record.objective_name} ({direction_word(record.maximize)})")
    ax.set_title(f"Learning curves: {len(curves)} trials, {record.n_pruned} pruned")
    ax.grid(True, axis="y", color="0.93")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


class _Negated:
    """A GP fitted on losses, read as the user's values (maximised objectives)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, X, *args, **kwargs):
        out = self.model.predict(X, *args, **kwargs)
        if isinstance(out, tuple):
            return (-out[0],) + tuple(out[1:])
        return -out


def fit_gp_result(record: SweepRecord, user_scale: bool = False, random_state: int = 0):
    """An ``OptimizeResult`` holding a GP fitted on the successful trials' losses.

    The GP is built as ``skopt.Optimizer`` builds it (``cook_estimator("GP")`` on the
    normalised space); losses are the values, negated when the objective is maximised
    (``func_vals`` holds them, and ``x`` is the best trial). With ``user_scale`` the model in
    ``models[-1]`` predicts the user's values instead (for plotting a maximised objective).
    Returns ``None`` when there are too few usable trials.
    """
    from skopt.space import Space
    from skopt.utils import cook_estimator, create_result, normalize_dimensions

    space = record.space
    points, losses = [], []
    for trial in record.trials:
        if not _usable(trial):
            continue
        try:
            point = space.to_point(trial.params)
        except ValueError:
            continue  # a hand-edited journal, or a trial from another space
        points.append(point)
        losses.append(-trial.value if record.maximize else trial.value)
    if len(points) < min_trials_for_objective(len(space.params)):
        return None
    tspace = Space(normalize_dimensions(copy.deepcopy(space.dimensions())))
    gp = cook_estimator("GP", space=tspace.dimensions, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's ConvergenceWarning on length scales at a bound
        gp.fit(tspace.transform(points), losses)
    model = _Negated(gp) if (user_scale and record.maximize) else gp
    return create_result(points, losses, space=tspace, models=[model])


def draw_objective(record: SweepRecord, path: Path) -> Optional[Path]:
    """skopt's partial dependence of a GP on the successful trials; None if too few yet."""
    import numpy as np
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter
    from skopt.plots import plot_objective

    space = record.space
    n_dims = len(space.params)
    result = fit_gp_result(record, user_scale=True)
    if result is None:
        return None
    _stop_point()

    # keep the cost bounded at 10 params: 45 2-d panels of n_points**2 GP evaluations each
    if n_dims <= 3:
        n_points, n_samples, cell, dpi = 40, 250, 2.6, 100
    elif n_dims <= 6:
        n_points, n_samples, cell, dpi = 24, 150, 2.1, 100
    else:
        n_points, n_samples, cell, dpi = 14, 80, 1.75, 90
    side = max(5.5, cell * n_dims) if n_dims > 1 else 6.0
    fig = _figure((side, side if n_dims > 1 else 4.5), dpi=dpi)
    outer = fig.add_subplot()
    rng_state = np.random.get_state()  # plot_objective samples from numpy's global RNG
    np.random.seed(0)
    try:
        with _batched_partial_dependence():
            plot_objective(
                result, ax=outer, n_points=n_points, n_samples=n_samples,
                dimensions=space.names, cmap="viridis" if record.maximize else "viridis_r",
                show_points=True,
            )
    finally:
        np.random.set_state(rng_state)
    axes = np.array(fig.axes[1:], dtype=object).reshape(n_dims, n_dims)

    # categorical and grid params: one tick per option (thinned past 8), labelled with its value
    # (skopt prunes the end ticks, which leaves a two-option categorical with no label at all)
    for k, param in enumerate(space.params):
        if param.kind not in ("grid", "categorical"):
            continue
        labels = [str(v) for v in (param.choices if param.kind == "grid" else param.labels)]
        step = max(1, math.ceil(len(labels) / 8))
        ticks = list(range(0, len(labels), step))
        formatter = FuncFormatter(lambda x, _, labels=labels: _grid_label(labels, x))
        for i in range(n_dims):
            for j in range(n_dims):
                if i == j == k:
                    axes[i, j].xaxis.set_major_locator(FixedLocator(ticks))
                    axes[i, j].xaxis.set_major_formatter(formatter)
                if i > j and j == k:
                    bottom = i == n_dims - 1
                    axes[i, j].xaxis.set_major_locator(FixedLocator(ticks))
                    axes[i, j].xaxis.set_major_formatter(formatter if bottom else NullFormatter())
                    if bottom:
                        axes[i, j].tick_params(axis="x", labelrotation=45)
                if i > j and i == k:
                    axes[i, j].yaxis.set_major_locator(FixedLocator(ticks))
                    axes[i, j].yaxis.set_major_formatter(formatter if j == 0 else NullFormatter())
    # integer params: integer ticks (skopt asks for them on categoricals only: n_layers 1..3 got
    # 1.2, 1.6, ...), the end ticks kept on a short range (pruned, 1..3 would show only 2)
    for k, param in enumerate(space.params):
        if param.kind != "int" or param.log:
            continue
        prune = None if param.high - param.low <= 8 else "both"
        for i in range(k, n_dims):  # column k: its curve, then the maps below it
            axes[i, k].xaxis.set_major_locator(MaxNLocator(6, prune=prune if i > k else None, integer=True))
        for j in range(k):  # row k: the maps left of its curve
            axes[k, j].yaxis.set_major_locator(MaxNLocator(6, prune=prune, integer=True))
    for i in range(n_dims):
        axes[i, i].set_ylabel(record.objective_name if n_dims > 1
                              else f"{record.objective_name} (partial dependence)")
        if n_dims > 1:  # the curves' tick labels run together along the top of narrow panels
            axes[i, i].tick_params(axis="x", labelrotation=45)
    small = n_dims > 6
    if small:
        for ax in axes.ravel():
            ax.tick_params(labelsize=6)
            ax.xaxis.label.set_size(7)
            ax.yaxis.label.set_size(7)
    fig.suptitle(
        # two lines: on one, the title of a 2-parameter plot ran past both edges of the figure
        f"Partial dependence of {record.objective_name} ({direction_word(record.maximize)})\n"
        f"GP on {len(result.x_iters)} trials; red: best trial",
        fontsize=9 if small else 11,
    )
    if n_dims == 1:
        # one parameter: the GP's mean itself; show the trials it was fitted on as well
        ax = axes[0, 0]
        xs = [_plot_coordinate(space.params[0], point[0]) for point in result.x_iters]
        ys = [-y if record.maximize else y for y in result.func_vals]
        ax.scatter(xs, ys, s=16, color="k", zorder=3, label="trials")
        ax.relim()
        ax.autoscale(axis="y")
        ax.legend(loc="best", fontsize="small")
        fig.subplots_adjust(left=0.06, right=0.84, bottom=0.08, top=0.78)
    else:
        # room for the longest tick label on the left column (categorical options can be long)
        longest = max([len(str(v)) for p in space.params[1:] if p.kind in ("grid", "categorical")
                       for v in (p.choices if p.kind == "grid" else p.labels)] + [5])
        left = min(0.25, 0.05 + 0.075 * longest * (0.6 if small else 1.0) / side)
        fig.subplots_adjust(left=left, right=1 - 0.8 / side, bottom=max(0.1, 0.75 / side), top=1 - 1.15 / side)
    return _save(fig, path)


# Rows x training points per predict() call when evaluating the partial dependence: each of
# the GP's temporaries is that many floats (400 kB, cache-sized), whatever the number of trials.
# Measured on 6 parameters: 50,000 beats skopt's one call per cell at 20, 100 and 400 trials at
# the same peak memory; 1,000,000 took 1.1 GB and 1.8x skopt's time at 400 trials.
_PREDICT_CHUNK_ELEMENTS = 50_000


@contextlib.contextmanager
def _batched_partial_dependence():
    """Make ``skopt.plots.plot_objective`` evaluate its partial dependence in a few large
    ``predict`` calls instead of one per grid cell.

    skopt calls the model once per point of every curve and once per cell of every contour
    map (1,600 calls for a 40 x 40 map), and each call pays scikit-learn's input checks; the
    arithmetic is the same either way. For a 2-parameter sweep this takes the drawing of
    ``objective.png``, which the end of every sweep waits for, from 0.41 s to 0.25 s.
    The values are skopt's own (the same samples, grid and mean): see the test that compares them.
    """
    import skopt.plots as skplots

    saved = skplots.partial_dependence_1D, skplots.partial_dependence_2D
    skplots.partial_dependence_1D, skplots.partial_dependence_2D = _partial_dependence_1d, _partial_dependence_2d
    try:
        yield
    finally:
        skplots.partial_dependence_1D, skplots.partial_dependence_2D = saved


def _mean_predictions(model: Any, samples: Any, settings: Sequence[Sequence[Tuple[slice, Any]]]) -> List[float]:
    """For each setting (columns -> values), the model's mean prediction over ``samples`` with
    those columns set, as skopt's ``_calc`` helpers compute one at a time.

    Every setting sets the same columns, so samples that agree on the other columns give the
    same rows: each distinct one is predicted once and weighted by its count (in a 2-parameter
    space a contour map's 250 samples are one row).
    """
    import numpy as np

    samples = np.asarray(samples, dtype=float)
    fixed = np.zeros(samples.shape[1], dtype=bool)
    for columns, _ in settings[0] if settings else ():
        fixed[columns] = True
    _, first, counts = np.unique(samples[:, ~fixed], axis=0, return_index=True, return_counts=True)
    distinct, weights = samples[first], counts / counts.sum()
    n = len(distinct)
    fitted = getattr(model, "model", model)  # through _Negated
    n_train = len(getattr(fitted, "X_train_", ())) or 1
    per_chunk = max(1, _PREDICT_CHUNK_ELEMENTS // (n * n_train))
    means: List[float] = []
    for start in range(0, len(settings), per_chunk):
        _stop_point()
        chunk = settings[start:start + per_chunk]
        rows = np.tile(distinct, (len(chunk), 1))
        for k, setting in enumerate(chunk):
            for columns, value in setting:
                rows[k * n:(k + 1) * n, columns] = value
        predictions = np.asarray(model.predict(rows)).reshape(len(chunk), n)
        means.extend((predictions @ weights).tolist())
    return means


def _dimension_columns(space: Any) -> List[slice]:
    import numpy as np

    locs = np.cumsum([0] + [d.transformed_size for d in space.dimensions])
    return [slice(int(a), int(b)) for a, b in zip(locs[:-1], locs[1:])]


def _partial_dependence_1d(space: Any, model: Any, i: int, samples: Any, n_points: int = 40):
    """``skopt.plots.partial_dependence_1D``, batched (same arguments, same result)."""
    from skopt.plots import _evenly_sample

    columns = _dimension_columns(space)[i]
    xi, xi_transformed = _evenly_sample(space.dimensions[i], n_points)
    return xi, _mean_predictions(model, samples, [[(columns, x)] for x in xi_transformed])


def _partial_dependence_2d(space: Any, model: Any, i: int, j: int, samples: Any, n_points: int = 40):
    """``skopt.plots.partial_dependence_2D``, batched (same arguments, same result)."""
    import numpy as np
    from skopt.plots import _evenly_sample

    columns = _dimension_columns(space)
    xi, xi_transformed = _evenly_sample(space.dimensions[j], n_points)
    yi, yi_transformed = _evenly_sample(space.dimensions[i], n_points)
    settings = [[(columns[j], x), (columns[i], y)] for y in yi_transformed for x in xi_transformed]
    zi = np.array(_mean_predictions(model, samples, settings)).reshape(len(yi_transformed), len(xi_transformed))
    return xi, yi, zi


def _plot_coordinate(param: Any, x: Any) -> Any:
    """Where skopt's plots put a point's coordinate: categories at their index."""
    if param.kind == "categorical":
        return list(param.labels).index(str(x))
    return x


def _grid_label(labels: Sequence[str], x: float) -> str:
    index = int(round(x))
    if abs(x - index) > 1e-6 or not 0 <= index < len(labels):
        return ""
    return labels[index]


# -- drawing in the background -------------------------------------------------------------------


class PlotRefresher:
    """Redraws a sweep's plots in one background process, one drawing at a time.

    The process (:func:`serve`) starts at the first refresh and stays up until :meth:`close`:
    it pays for importing skopt and matplotlib (about a second) once, not once per batch, which
    keeps both the CPU taken from the trials and the wait at the end of a sweep small.

    The loop calls :meth:`refresh` after each batch (it returns at once) and :meth:`wait` when
    the sweep ends. A refresh that arrives while a drawing runs marks the plots dirty; the next
    drawing starts as soon as the running one ends, so the last refresh is always drawn, and a
    refresh with the ``version`` already asked for is a no-op. :meth:`wait` first stops a
    drawing that a newer refresh has made stale (its pictures would be replaced at once), so
    the end of a sweep waits for one drawing, not two. A failed drawing is logged (the drawing
    process's output is in ``SWEEP_DIR/.plots.log``) and never stops the sweep.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._proc: Optional[subprocess.Popen] = None
        self._pending: Optional[Path] = None
        self._version: Any = None
        self._idle = threading.Event()  # cleared while a drawing runs (changed with _lock held)
        self._idle.set()
        self._stoppable: Optional[subprocess.Popen] = None  # the process, once it handles STOP_SIGNAL
        self._stop_sent = False  # for the drawing that runs now
        self.started = 0  # drawings started, for logs and tests
        self.stopped = 0  # stale drawings stopped by wait()
        self.failures = 0

    @staticmethod
    def command() -> List[str]:
        return [sys.executable, "-m", "hydra_skopt_sweeper.plots", "--serve"]

    def refresh(self, sweep_dir: Path, version: Any = None) -> None:
        """Start redrawing ``sweep_dir``'s plots, or mark them dirty if a drawing is running.

        ``version`` names the state of the sweep (e.g. its number of trials): a refresh with
        the same version as the previous one draws nothing new.
        """
        if not self.enabled or (version is not None and version == self._version):
            return
        self._version = version
        sweep_dir = Path(sweep_dir).resolve()
        with self._lock:
            if self.running():
                self._pending = sweep_dir
                return
            self._send(sweep_dir)

    def running(self) -> bool:
        return not self._idle.is_set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until no drawing runs or is pending; False when ``timeout`` ran out first.

        A drawing that runs while a newer refresh waits is stopped first: only the newest
        pictures matter to whoever waits.
        """
        self._stop_stale_drawing()
        done = self._idle.wait(timeout)
        if not done:
            log.warning("The plots are still being drawn in the background; they will appear "
                        "in the sweep dir shortly")
        return done

    def close(self) -> None:
        """Let the drawing process end once it has drawn what it was asked to."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def _stop_stale_drawing(self) -> None:
        with self._lock:
            proc = self._proc
            if (self._pending is None or proc is None or proc is not self._stoppable
                    or self._stop_sent or proc.poll() is not None):
                return
            self._stop_sent = True
            try:
                proc.send_signal(STOP_SIGNAL)
            except OSError:  # it ended meanwhile: its reader thread sends the pending refresh
                pass

    def _send(self, sweep_dir: Path) -> None:  # with self._lock held
        proc = self._proc if self._proc is not None and self._proc.poll() is None else None
        if proc is None:
            proc = self._spawn(sweep_dir / PLOTS_LOG_NAME)
            if proc is None:
                self._idle.set()
                return
        self._idle.clear()
        self._stop_sent = False
        self.started += 1
        try:
            proc.stdin.write(f"{sweep_dir}\n")
            proc.stdin.flush()
        except OSError:  # it died meanwhile: its reader thread counts the failure
            pass

    def _spawn(self, log_path: Path) -> Optional[subprocess.Popen]:  # with self._lock held
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        env["MPLBACKEND"] = "Agg"
        env["PYTHONWARNINGS"] = "ignore"
        try:
            with open(log_path, "ab") as log_file:
                proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=log_file, env=env, close_fds=True, text=True, bufsize=1)
        except OSError as error:
            log.warning("Cannot draw the plots in the background (%s); not trying again", error)
            self.enabled = False
            return None
        self._proc = proc
        threading.Thread(target=self._read, args=(proc, log_path), daemon=True,
                         name="skopt-plots").start()
        return proc

    def _read(self, proc: subprocess.Popen, log_path: Path) -> None:
        """Take the drawing process's replies, one line a drawing, until it ends."""
        for line in proc.stdout:
            reply = line.strip()
            if reply == READY:
                with self._lock:  # said only where STOP_SIGNAL exists
                    self._stoppable = proc
                continue
            if reply == STOPPED:
                self.stopped += 1
            self._drawn(reply != FAILED, log_path)
        proc.wait()
        with self._lock:
            if self._proc is proc:
                self._proc = None
            died_drawing = self.running() and self._proc is None
        if died_drawing:
            self._drawn(False, log_path)

    def _drawn(self, ok: bool, log_path: Path) -> None:
        with self._lock:
            if not ok:
                self.failures += 1
                log.warning("Drawing the plots failed; see %s", log_path)
            pending, self._pending = self._pending, None
            if pending is not None and self.enabled:
                self._send(pending)
            else:
                self._idle.set()


def serve(requests: Any = None, replies: Any = None) -> int:
    """The drawing process behind :class:`PlotRefresher`: reads one sweep dir a line, draws
    its plots, answers ``ok``, ``failed`` or ``stopped`` on a line of its own, until its input
    closes.

    It first answers ``ready`` once it handles STOP_SIGNAL (before that the signal would end
    it): the signal stops the drawing that runs at its next stop point, and files it had not
    written yet stay as they were (each picture is written to a temporary file and renamed).
    Anything the drawing prints goes to stderr (the sweep's ``.plots.log``), so stdout
    carries only the replies. Runs at a lower priority: the trials come first.
    """
    import traceback

    requests = sys.stdin if requests is None else requests
    replies = sys.stdout if replies is None else replies
    sys.stdout = sys.stderr

    def stop_drawing(signum: int, frame: Any) -> None:
        _stop_requested.set()  # between drawings: cleared when the next one starts

    def answer(reply: str) -> None:
        replies.write(reply + "\n")
        replies.flush()

    if STOP_SIGNAL is not None and threading.current_thread() is threading.main_thread():
        signal.signal(STOP_SIGNAL, stop_drawing)
        answer(READY)
    if hasattr(os, "nice"):
        try:
            os.nice(10)
        except OSError:
            pass
    logging.basicConfig(level=logging.ERROR, format="plots: %(levelname)s: %(message)s")
    for line in requests:
        sweep_dir = Path(line.strip())
        _stop_requested.clear()
        try:
            if not (sweep_dir / JOURNAL_NAME).is_file():
                raise FileNotFoundError(f"{sweep_dir} has no {JOURNAL_NAME}")
            draw_plots(sweep_dir)
            reply = DRAWN
        except _DrawingStopped:
            reply = STOPPED
        except Exception:  # one failed drawing must not end the process
            traceback.print_exc()
            reply = FAILED
        answer(reply)
    return 0


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    sys.exit(serve())
