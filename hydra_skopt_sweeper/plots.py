"""Pictures of a sweep, drawn from its directory alone.

It owns ``convergence.png``, ``objective.png`` and ``curves.png``, how they are drawn from
what the loop writes (``trials.jsonl``, ``search_space.json``, ``.curves/``, and for labels and
the model's settings ``multirun.yaml``). :mod:`.plot_refresher` redraws them while a sweep
runs; ``skopt-report`` at any time. The same pictures come from a finished sweep, a running
one, or one that was killed:

* ``convergence.png``: every trial's value (the user's value, not the sign-flipped loss the GP
  is told) against its trial number, the best value so far as a line, batch boundaries as light
  vertical lines, pruned trials as hollow grey dots (their value when stopped) and failed
  trials as red crosses on the edge of the plot;
* ``curves.png``: every trial's learning curve (``.curves/``, see :mod:`.pruning`), pruned ones
  dashed, the best trial's highlighted;
* ``objective.png``: the partial dependence of the sweep's own surrogate (:func:`fit_surface`),
  once there are enough successful trials (:func:`min_trials_for_objective`). Categorical
  parameters show their options; grid parameters (``range`` with a step) are searched as an
  index and shown with their real values.

It imports neither matplotlib nor skopt at import time. It may use :mod:`.model`,
:mod:`.columns`, :mod:`.policy` and :mod:`.proposer` (the model), never :mod:`.loop`.
"""
from __future__ import annotations

import json
import logging
import math
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .journal import Trial, best_trial, read_trials
from .sweep_dir import CONVERGENCE, CURVES, OBJECTIVE, SweepDir, atomic_write

log = logging.getLogger(__name__)

# the largest value drawn: axis limits and contour levels are computed from differences of
# the values, which must stay within float range
DRAWN_LIMIT = sys.float_info.max / 16


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
    sweeper: Dict[str, Any] = field(default_factory=dict)  # multirun.yaml's hydra.sweeper

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
    files = SweepDir(sweep_dir)
    trials = sorted(read_trials(files.journal), key=lambda t: t.number)
    record = SweepRecord(sweep_dir=sweep_dir, trials=trials)

    results = _read_yaml(files.results)
    record.results = results if isinstance(results, dict) else {}
    sweeper: Dict[str, Any] = {}
    multirun = _read_yaml(files.multirun)
    if isinstance(multirun, dict):
        sweeper = _resolved_sweeper(multirun)
    record.sweeper = dict(sweeper)

    maximize: Any = None
    space_file = files.space
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
    from matplotlib import rc_context

    record = sweep if isinstance(sweep, SweepRecord) else load_sweep(Path(sweep))
    out_dir = Path(out_dir) if out_dir is not None else record.sweep_dir
    written: Dict[str, Optional[Path]] = {"convergence": None, "objective": None, "curves": None}
    # every text comes from the sweep (names, options, values): a "$" in it is a dollar sign,
    # never the start of a formula
    with warnings.catch_warnings(), rc_context({"text.parse_math": False}):
        warnings.simplefilter("ignore")
        written["convergence"] = draw_convergence(record, out_dir / CONVERGENCE)
        written["curves"] = draw_curves(record, out_dir / CURVES)
        if record.space is not None and record.space.params:
            written["objective"] = draw_objective(record, out_dir / OBJECTIVE)
    return written


def _figure(figsize, dpi=100):
    """A Figure outside pyplot's global state (nothing to close, nothing leaks)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi)


def _save(fig, path: Path) -> Path:
    try:
        return atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        fig.clear()


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
        ax.scatter([t.number for t in ok], _drawn([t.value for t in ok]), s=22, color="C0", alpha=0.75,
                   zorder=3, label="trial")
        series = best_so_far(trials, maximize)
        steps_x, steps_y = [n for n, _ in series], [b for _, b in series]
        ax.step(steps_x, _drawn(steps_y), where="post", color="C1", lw=2, zorder=4, label="best so far")
        values = [t.value for t in ok]
        if min(values) > 0 and max(values) / min(values) > 1e3:
            ax.set_yscale("log")

    pruned = [t for t in trials if t.pruned and t.value is not None and math.isfinite(t.value)]
    if pruned:
        ax.scatter([t.number for t in pruned], _drawn([t.value for t in pruned]), s=22, facecolors="none",
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


def _drawn(values: Sequence[float]) -> List[float]:
    """Values as drawn: within DRAWN_LIMIT, so that the axis can be scaled to them."""
    return [min(max(v, -DRAWN_LIMIT), DRAWN_LIMIT) for v in values]


def _padded(low: float, high: float, fraction: float) -> Tuple[float, float]:
    """Axis limits ``fraction`` of the range beyond ``low`` and ``high``, finite even when the
    values span all of float's range."""
    margin = fraction * high - fraction * low
    largest = sys.float_info.max
    return max(low - margin, -largest), min(high + margin, largest)


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
            ax.set_ylim(*_padded(low, high, 0.08))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step (reported by the trial)")
    ax.set_ylabel(f"{record.objective_name} ({direction_word(record.maximize)})")
    ax.set_title(f"Learning curves: {len(curves)} trials, {record.n_pruned} pruned")
    ax.grid(True, axis="y", color="0.93")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


# -- objective.png: the sweep's own surrogate ------------------------------------------------------


@dataclass
class Surface:
    """The sweep's surrogate refitted on what the loop told it, read in the user's values.

    ``rows`` are points in skopt's normalised space (``tspace``), as :mod:`.model` sees
    them; ``points`` and ``losses`` are what was told (see :func:`told_points`), the losses
    as drawn (within :data:`DRAWN_LIMIT`).
    """

    tspace: Any  # skopt Space, normalised
    model: Any  # model.Surrogate, in scaled-loss units
    scale: Any  # policy.LossScale
    maximize: bool
    points: List[List[Any]]
    losses: List[float]
    kind: str  # "GP", "RF" or "ET"

    def __post_init__(self) -> None:
        self.losses = _drawn(self.losses)

    def mean(self, rows: Any) -> Any:
        """The model's mean at ``rows``, in scaled-loss units."""
        from .model import GPPosterior

        if isinstance(self.model, GPPosterior):
            return self.model.mean(rows)
        return self.model.predict(rows)[0]

    def values(self, scaled: Any) -> Any:
        """Scaled losses -> the user's values (the loss scale undone, the sign of a maximised
        objective restored), within :data:`DRAWN_LIMIT` so that axes and contour levels can
        be computed."""
        import numpy as np

        scaled = np.asarray(scaled, dtype=float)
        losses = np.array([self.scale.inverse(s) for s in scaled.ravel()]).reshape(scaled.shape)
        losses = np.clip(losses, -DRAWN_LIMIT, DRAWN_LIMIT)
        return -losses if self.maximize else losses

    def predict(self, rows: Any) -> Any:
        """The model's mean at ``rows`` in the user's values."""
        return self.values(self.mean(rows))


def told_points(record: SweepRecord) -> Tuple[List[List[Any]], List[float]]:
    """The points and losses the loop tells the proposer, read back from the journal by the
    same rule (:class:`.feed.ModelFeed`, with the sweep's ``on_failure``); points outside the
    space (a hand-edited journal) are skipped."""
    from .feed import ModelFeed, returned_together
    from .objective import Objectives

    told = _Told()
    feed = ModelFeed(told, Objectives(maximize=(record.maximize,)), str(record.sweeper.get("on_failure", "penalize")))
    for group in returned_together(record.trials):
        returned = []
        for trial in group:
            try:
                point = record.space.to_point(trial.params)
            except ValueError:
                continue
            returned.append((record.space.canonical(point) if record.space.conditional else point, trial))
        feed.returned(returned)
    return told.points, told.losses


@dataclass
class _Told:
    """A learner that only keeps what it is told."""

    points: List[List[Any]] = field(default_factory=list)
    losses: List[float] = field(default_factory=list)

    def tell(self, points: Sequence[List[Any]], losses: Sequence[float]) -> None:
        self.points += points
        self.losses += losses

    def exclude(self, points: Sequence[List[Any]]) -> None:
        pass


def fit_surface(record: SweepRecord) -> Optional[Surface]:
    """The surrogate the sweep's proposer fits, refitted on the journal's trials; None with
    fewer than :func:`min_trials_for_objective` successful trials.

    A :class:`.proposer.BatchProposer` with the sweep's ``base_estimator`` is told the
    journal's points and its own fit is taken (:meth:`~.proposer.BatchProposer.surrogate`):
    the same space, loss scale, kernel, priors and input warps, with the default
    :class:`.policy.Policy`. As close as the sweep dir allows, not bit for bit: the sweep's GP warm-starts its
    hyperparameters from its previous fit and settles its warps as the data grow, where this
    fit starts once from the defaults on all the data; RF and ET grow other trees than the
    sweep's (another seed). A sweep run with a non-default policy is drawn with the default.

    Parameters
    ----------
    record : SweepRecord
        The sweep dir as read by :func:`load_sweep`; ``record.sweeper`` gives the
        ``base_estimator`` and ``on_failure`` the sweep ran with.

    Returns
    -------
    Surface or None
    """
    from .proposer import BatchProposer

    if len(record.finished) < min_trials_for_objective(len(record.space.params)):
        return None
    points, losses = told_points(record)
    kind = str(record.sweeper.get("base_estimator", "GP")).upper()
    kind = kind if kind in ("RF", "ET") else "GP"
    proposer = BatchProposer(record.space.dimensions(), n_initial_points=0, base_estimator=kind, random_state=0)
    proposer.tell(points, losses)
    model, scale = proposer.surrogate()
    tspace = proposer.tspace
    return Surface(tspace, model, scale, record.maximize, points, losses, kind)


def evenly_spaced(param: Any, dim: Any, n_points: int) -> Tuple[Any, Any]:
    """Up to ``n_points`` evenly spaced values of one parameter along its plot axis.

    Parameters
    ----------
    param : search_space.Param
        Real and integer ranges are spaced evenly on their axis (a log range geometrically);
        every option of a categorical or grid parameter is taken, thinned to ``n_points``.
    dim : skopt Dimension
        The parameter's dimension in the normalised space.
    n_points : int

    Returns
    -------
    xs : ndarray
        Coordinates on the axis: the value, or the index of a categorical or grid option.
    columns : ndarray, shape (len(xs), the dimension's number of normalised columns)
        The same values in the normalised space.
    """
    import numpy as np

    if param.kind in ("real", "int"):
        spaced = np.geomspace if param.log else np.linspace
        xs = spaced(param.low, param.high, n_points)
        if param.kind == "int":
            xs = np.unique(np.round(xs)).astype(int)
        columns = dim.transform(xs)
    else:
        count = len(param.labels)
        xs = np.unique(np.linspace(0, count - 1, min(count, n_points)).round().astype(int))
        columns = dim.transform([xs[k] if param.kind == "grid" else param.labels[xs[k]] for k in range(len(xs))])
    return xs, np.asarray(columns, dtype=float).reshape(len(xs), -1)


# Rows x training points per model call in the partial dependence: the GP's temporaries stay
# cache-sized whatever the number of trials.
_PREDICT_CHUNK_ELEMENTS = 50_000


def partial_dependence(surface: Surface, samples: Any, columns: Sequence[slice], grids: Sequence[Any]) -> Any:
    """The model's mean over ``samples`` with ``columns[k]`` set to each row of ``grids[k]``.

    Samples that agree outside ``columns`` give the same rows, so each distinct one is
    predicted once and weighted by its count.

    Parameters
    ----------
    surface : Surface
    samples : ndarray, shape (n_samples, n_columns)
        Rows of the normalised space the other parameters are averaged over.
    columns : sequence of slice
        The normalised columns of each parameter set.
    grids : sequence of ndarray
        For each, its values in those columns (``evenly_spaced``'s second result).

    Returns
    -------
    ndarray, one axis per grid
        The mean, in scaled-loss units (:meth:`Surface.values` reads them as the user's).
    """
    import numpy as np

    samples = np.asarray(samples, dtype=float)
    fixed = np.zeros(samples.shape[1], dtype=bool)
    for c in columns:
        fixed[c] = True
    _, first, counts = np.unique(samples[:, ~fixed], axis=0, return_index=True, return_counts=True)
    distinct, weights = samples[first], counts / counts.sum()
    shape = tuple(len(g) for g in grids)
    cells = np.array(np.unravel_index(np.arange(int(np.prod(shape))), shape)).T
    n_train = len(surface.points) or 1
    per_chunk = max(1, _PREDICT_CHUNK_ELEMENTS // (len(distinct) * n_train))
    means = []
    for start in range(0, len(cells), per_chunk):
        chunk = cells[start:start + per_chunk]
        rows = np.tile(distinct, (len(chunk), 1))
        for k, (c, grid) in enumerate(zip(columns, grids)):
            rows[:, c] = np.repeat(grid[chunk[:, k]], len(distinct), axis=0)
        means.append(surface.mean(rows).reshape(len(chunk), len(distinct)) @ weights)
    return np.concatenate(means).reshape(shape)


def _plot_coordinate(param: Any, x: Any) -> Any:
    """Where a point's coordinate goes on its axis: categorical options at their index."""
    return list(param.labels).index(str(x)) if param.kind == "categorical" else x


def _option_axis(axis: Any, param: Any, labelled: bool) -> None:
    """A grid, categorical or integer param's axis: one tick per option (thinned past 8)
    labelled with its value, or integer ticks."""
    from matplotlib.ticker import FixedLocator, FixedFormatter, MaxNLocator, NullFormatter

    if param.kind in ("grid", "categorical"):
        labels = [str(v) for v in (param.choices if param.kind == "grid" else param.labels)]
        ticks = list(range(0, len(labels), max(1, math.ceil(len(labels) / 8))))
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FixedFormatter([labels[t] for t in ticks]) if labelled else NullFormatter())
    elif param.kind == "int" and not param.log:
        axis.set_major_locator(MaxNLocator(6, integer=True))
    if not labelled:
        axis.set_major_formatter(NullFormatter())


def draw_objective(record: SweepRecord, path: Path) -> Optional[Path]:
    """The partial dependence of the sweep's surrogate (:func:`fit_surface`): one curve per
    parameter on the diagonal, one contour map per pair below it, the told points as black
    dots and the best trial as a red star; None while there are too few successful trials."""
    import numpy as np

    from .columns import ColumnLayout

    space = record.space
    surface = fit_surface(record)
    if surface is None:
        return None
    n_dims = len(space.params)
    # keep the cost bounded at 10 params: 45 maps of n_points**2 cells each
    if n_dims <= 3:
        n_points, n_samples, cell, dpi = 40, 250, 2.6, 100
    elif n_dims <= 6:
        n_points, n_samples, cell, dpi = 24, 150, 2.1, 100
    else:
        n_points, n_samples, cell, dpi = 14, 80, 1.75, 90
    tspace = surface.tspace
    samples = np.asarray(tspace.transform(tspace.rvs(n_samples=n_samples, random_state=np.random.RandomState(0))))
    columns = ColumnLayout.of(tspace).slices
    axes_values = [evenly_spaced(p, d, n_points) for p, d in zip(space.params, tspace.dimensions)]
    told = np.array([[_plot_coordinate(p, x) for p, x in zip(space.params, point)] for point in surface.points],
                    dtype=float)
    best = record.best()
    best_at = [_plot_coordinate(p, x) for p, x in zip(space.params, space.to_point(best.params))]

    side = max(5.5, cell * n_dims) if n_dims > 1 else 6.0
    fig = _figure((side, side if n_dims > 1 else 4.5), dpi=dpi)
    axes = fig.subplots(n_dims, n_dims, squeeze=False)
    cmap = "viridis" if record.maximize else "viridis_r"  # good values bright either way
    small = n_dims > 6
    curves: List[Any] = []
    for i, row_param in enumerate(space.params):
        for j, col_param in enumerate(space.params):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if row_param.log and i != j:
                ax.set_yscale("log")
            if col_param.log:
                ax.set_xscale("log")
            xs, x_columns = axes_values[j]
            if i == j:
                curve = surface.values(partial_dependence(surface, samples, [columns[j]], [x_columns]))
                curves.append(curve)
                ax.plot(xs, curve, color="C0")
                ax.axvline(best_at[j], linestyle="--", color="r", lw=1)
                if n_dims == 1:  # one parameter: show the trials the model was fitted on as well
                    values = [-loss if record.maximize else loss for loss in surface.losses]
                    ax.scatter(told[:, 0], values, s=16, color="k", zorder=3, label="trials")
                    ax.legend(loc="best", fontsize="small")
                    ax.set_ylabel(f"{record.objective_name} (partial dependence)")
                    ax.set_xlabel(col_param.name)
                else:
                    ax.yaxis.tick_right()
                    ax.yaxis.set_label_position("right")
                    ax.set_ylabel(record.objective_name)
                    ax.xaxis.tick_top()
                    ax.xaxis.set_label_position("top")
                    ax.set_xlabel(col_param.name)
                    ax.tick_params(axis="x", labelrotation=45)
                _option_axis(ax.xaxis, col_param, labelled=True)
            else:
                ys, y_columns = axes_values[i]
                z = surface.values(partial_dependence(surface, samples, [columns[i], columns[j]], [y_columns, x_columns]))
                ax.contourf(xs, ys, z, 10, cmap=cmap)
                ax.scatter(told[:, j], told[:, i], s=10, color="k", lw=0.0)
                ax.scatter([best_at[j]], [best_at[i]], s=100, color="r", lw=0.0, marker="*", zorder=4)
                bottom, left = i == n_dims - 1, j == 0
                _option_axis(ax.xaxis, col_param, labelled=bottom)
                _option_axis(ax.yaxis, row_param, labelled=left)
                if bottom:
                    ax.set_xlabel(col_param.name)
                    ax.tick_params(axis="x", labelrotation=45)
                elif col_param.kind not in ("grid", "categorical"):
                    ax.tick_params(axis="x", labelbottom=False)
                if left:
                    ax.set_ylabel(row_param.name)
                elif row_param.kind not in ("grid", "categorical"):
                    ax.tick_params(axis="y", labelleft=False)
            if small:
                ax.tick_params(labelsize=6)
                ax.xaxis.label.set_size(7)
                ax.yaxis.label.set_size(7)
    # one value scale on the diagonal, so that the curves' heights compare the parameters
    low, high = min(float(np.min(c)) for c in curves), max(float(np.max(c)) for c in curves)
    if n_dims > 1 and high > low:
        for k in range(n_dims):
            axes[k, k].set_ylim(*_padded(low, high, 0.05))
    fig.suptitle(
        f"Partial dependence of {record.objective_name} ({direction_word(record.maximize)})\n"
        f"the sweep's {surface.kind} refitted on {len(surface.points)} told trials; red: best trial",
        fontsize=9 if small else 11,
    )
    if n_dims == 1:
        fig.subplots_adjust(left=0.1, right=0.95, bottom=0.12, top=0.8)
    else:
        # room for the longest tick label on the left column (categorical options can be long)
        longest = max([len(str(v)) for p in space.params[1:] if p.kind in ("grid", "categorical")
                       for v in (p.choices if p.kind == "grid" else p.labels)] + [5])
        left = min(0.25, 0.05 + 0.075 * longest * (0.6 if small else 1.0) / side)
        fig.subplots_adjust(left=left, right=1 - 0.8 / side, bottom=max(0.1, 0.75 / side),
                            top=1 - 1.15 / side, wspace=0.35, hspace=0.35)
    return _save(fig, path)
