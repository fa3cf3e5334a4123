"""Pictures of a sweep, drawn from its directory alone.

It owns the pictures :func:`draw_plots` writes (:func:`picture_names`) and how they are drawn
from what the loop writes (``trials.jsonl``, ``search_space.json``, ``.curves/``, and for labels
and the model's settings ``multirun.yaml``). :mod:`.plot_refresher` redraws them while a sweep
runs; ``skopt-report`` at any time. The same pictures come from a finished sweep, a running
one, or one that was killed:

* ``convergence.png``: every trial's value (the user's value, not the sign-flipped loss the GP
  is told) against its trial number, the best value so far as a line, batch boundaries as light
  vertical lines, pruned trials as hollow grey dots (their value when stopped) and failed
  trials as red crosses on the edge of the plot; with ``metric_constraints``, the trials that
  broke them as hollow grey diamonds, left out of the best so far. The value axis follows the
  good trials (:func:`value_axis_limit`): the others are triangles on its edge;
* ``curves.png``: every trial's learning curve (``.curves/``, see :mod:`.pruning`), pruned ones
  dashed, the best trial's highlighted;
* ``objective.png``: the partial dependence of the sweep's own surrogate (:func:`.surface.fit_surface`),
  once there are enough successful trials (:func:`.surface.min_trials_for_objective`); its
  contour maps on one colour scale, whose bar says which end is better; with many parameters,
  the most important ones. Categorical parameters show their options; grid parameters (``range``
  with a step) are searched as an index and shown with their real values;
* ``slices.png`` (one objective): each trial's value against each parameter, a panel each;
* ``importance.png``: each parameter's share of the variance of the model's mean
  (:mod:`.importance`), a panel per objective;
* ``parallel.png``: parallel coordinates, a line per trial across the parameters and the
  objectives, coloured by the (first) objective.

With several objectives, ``convergence.png``, ``objective.png`` and ``slices.png`` are not
drawn; instead:

* ``pareto.png``: every completed trial in the objectives' own units and directions, those on
  the Pareto front (:mod:`.solutions`) highlighted and, when few, labelled with their trial
  numbers. Two objectives: one view, the front as a step line and the region it dominates up
  to the reference point shaded (its area is the hypervolume); three or more: a view per pair
  of objectives, below the diagonal. With ``metric_constraints`` the front is the feasible
  trials' and the infeasible ones are drawn apart, as hollow grey diamonds;
* ``hypervolume.png``: the hypervolume of the front so far against trial number, every step
  measured from the final reference point (so the curve never falls), failures and batches
  marked as in ``convergence.png``.

It imports neither matplotlib nor skopt at import time. It reads the sweep through
:mod:`.sweep_record`, the refitted model through :mod:`.surface`, the importance through
:mod:`.importance` and the front through :mod:`.solutions`; never :mod:`.loop`.
"""
from __future__ import annotations

import logging
import math
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .importance import Importance, importance_of, with_model
from .journal import Trial
from .objective import Objectives
from .solutions import Front
from .surface import DRAWN_LIMIT, Surface, drawn, evenly_spaced, fit_surface, partial_dependence
from .sweep_dir import (CONVERGENCE, CURVES, HYPERVOLUME, IMPORTANCE, OBJECTIVE, PARALLEL, PARETO, SLICES,
                        atomic_write)
from .sweep_record import SweepRecord, direction_word, is_finite_number, load_sweep, usable

log = logging.getLogger(__name__)


# -- drawing ------------------------------------------------------------------------------------


def draw_plots(sweep: "SweepRecord | Path", out_dir: Optional[Path] = None, *,
               importance: Optional[List[Importance]] = None, surface: Optional[Surface] = None
               ) -> Dict[str, Optional[Path]]:
    """Draw a sweep's pictures (:func:`picture_names`): with one objective ``convergence.png``,
    ``objective.png``, ``slices.png``; with several ``pareto.png`` and ``hypervolume.png``;
    with either ``importance.png``, ``parallel.png`` and ``curves.png``.

    ``importance``: :func:`.importance.importance_of` of the sweep, when already computed;
    None: computed here, from the model ``objective.png`` draws (fitted once for both, by
    :func:`.importance.with_model`).
    ``surface``: that model (one objective), when already fitted
    (:func:`.importance.with_model` gives both).

    Returns the path of each picture by name (``"convergence"``, ``"objective"``, ``"slices"``;
    ``"pareto"``, ``"hypervolume"``; ``"importance"``, ``"parallel"``, ``"curves"``), None for
    one not drawn yet (too few trials, no importance, no learning curve). Files are written
    atomically (a temporary file, then ``os.replace``); warnings are silenced and no figure is
    left open.
    """
    from matplotlib import rc_context

    record = sweep if isinstance(sweep, SweepRecord) else load_sweep(Path(sweep))
    out_dir = Path(out_dir) if out_dir is not None else record.sweep_dir
    has_params = record.space is not None and bool(record.space.params)
    # every text comes from the sweep (names, options, values): a "$" in it is a dollar sign,
    # never the start of a formula
    with warnings.catch_warnings(), rc_context({"text.parse_math": False}):
        warnings.simplefilter("ignore")
        if importance is None:
            surface, importance = with_model(record) if surface is None else (
                surface, importance_of(record, surface=surface))
        elif surface is None and has_params and not record.several:
            surface = fit_surface(record)
        written: Dict[str, Optional[Path]]
        if record.several:
            front = record.front()
            series = hypervolume_so_far(front)
            written = {"pareto": draw_pareto(record, front, out_dir / PARETO, series),
                       "hypervolume": draw_hypervolume(record, front, out_dir / HYPERVOLUME, series)}
        else:
            written = {"convergence": draw_convergence(record, out_dir / CONVERGENCE),
                       "objective": draw_objective(record, out_dir / OBJECTIVE, surface=surface,
                                                   importance=importance) if surface is not None else None,
                       "slices": draw_slices(record, out_dir / SLICES, importance)}
        written["curves"] = draw_curves(record, out_dir / CURVES)
        written["importance"] = draw_importance(importance, out_dir / IMPORTANCE)
        written["parallel"] = draw_parallel(record, out_dir / PARALLEL, importance)
    return written


def picture_names(several: bool) -> Tuple[str, ...]:
    """The pictures :func:`draw_plots` may write for a sweep of one objective or several."""
    shared = (IMPORTANCE, PARALLEL, CURVES)
    return (PARETO, HYPERVOLUME) + shared if several else (CONVERGENCE, OBJECTIVE, SLICES) + shared


def _figure(figsize, dpi=100):
    """A Figure outside pyplot's global state (nothing to close, nothing leaks)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi)


def _save(fig, path: Path) -> Path:
    try:
        return atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        fig.clear()


def best_so_far(trials: Sequence[Trial], maximize: bool,
                counted: Optional[Callable[[Trial], bool]] = None) -> List[Tuple[int, float]]:
    """``(trial number, best value up to it)`` in trial order, in the user's values; only the
    ``counted`` trials (the feasible ones, say) may set it."""
    pick = max if maximize else min
    series: List[Tuple[int, float]] = []
    best: Optional[float] = None
    for trial in sorted(trials, key=lambda t: t.number):
        if usable(trial) and (counted is None or counted(trial)):
            best = trial.value if best is None else pick(best, trial.value)
        if best is not None:
            series.append((trial.number, best))
    return series


# a value axis follows the good trials (value_axis_limit): the best half of the completed ones,
# and this many times their spread beyond the worst of them
_AXIS_REACH = 6.0
_AXIS_MIN_TRIALS = 4


def value_axis_limit(values: Sequence[float], maximize: bool) -> Optional[float]:
    """Where a value axis that follows the good trials ends on the worse side: values beyond
    it are drawn at the axis's edge.

    The good trials are the best half of ``values`` (the completed trials' values; the best
    ``ceil(n / 2)``); the limit is the worst of them plus ``_AXIS_REACH`` times their spread (its
    distance from the best), in the worse direction. None (the axis takes every value) with
    fewer than ``_AXIS_MIN_TRIALS`` finite values or when the good half are all equal.
    """
    finite = sorted((float(v) for v in values if math.isfinite(v)), reverse=maximize)
    if len(finite) < _AXIS_MIN_TRIALS:
        return None
    best, edge = finite[0], finite[(len(finite) - 1) // 2]
    spread = abs(edge - best)
    if spread == 0:
        return None
    return edge - _AXIS_REACH * spread if maximize else edge + _AXIS_REACH * spread


def _beyond(value: float, limit: Optional[float], maximize: bool) -> bool:
    return limit is not None and (value < limit if maximize else value > limit)


def draw_convergence(record: SweepRecord, path: Path) -> Path:
    """Best value so far against trial number; every trial a dot, failures and batches marked;
    the value axis follows the good trials (:func:`value_axis_limit`), the others drawn at its edge."""
    trials = record.trials
    maximize = record.maximize
    fig = _figure((8.0, 4.8))
    ax = fig.add_subplot()

    ok = [t for t in trials if usable(t)]
    constrained = record.constraints is not None
    infeasible = [t for t in ok if not record.feasible(t)]
    pruned = [t for t in trials if t.pruned and t.value is not None and math.isfinite(t.value)]
    limit = value_axis_limit(drawn([t.value for t in ok]), maximize)
    beyond = {t.number for t in ok + pruned if _beyond(drawn([t.value])[0], limit, maximize)}
    inside = lambda t: t.number not in beyond  # noqa: E731
    if ok:
        shown = [t for t in ok if record.feasible(t) and inside(t)]
        ax.scatter([t.number for t in shown], drawn([t.value for t in shown]), s=22, color="C0", alpha=0.75,
                   zorder=3, label="feasible trial" if constrained else "trial")
        kept = [t for t in infeasible if inside(t)]
        if kept:
            _mark_infeasible(ax, record, [t.number for t in kept], [t.value for t in kept], size=26,
                             count=len(infeasible))
        series = best_so_far(trials, maximize, record.feasible if constrained else None)
        steps_x, steps_y = [n for n, _ in series], [b for _, b in series]
        ax.step(steps_x, drawn(steps_y), where="post", color="C1", lw=2, zorder=4,
                label="best feasible so far" if constrained else "best so far")
    if pruned:
        kept = [t for t in pruned if inside(t)]
        ax.scatter([t.number for t in kept], drawn([t.value for t in kept]), s=22, facecolors="none",
                   edgecolors="0.55", zorder=3, label=f"pruned ({len(pruned)}): value when stopped")
    _follow_the_good_trials(ax, drawn([t.value for t in ok + pruned if inside(t)]), sorted(beyond), maximize)
    failed = _failed(trials)
    _mark_failed(ax, failed, edge=0.04 if maximize else 0.96)
    batches = _mark_batches(ax, trials)

    ax.set_xlabel("trial number")
    ax.set_ylabel(f"{record.objective_name} ({direction_word(maximize)})")
    _trial_axis(ax, trials)
    best_trial_ = record.best()
    counts = _counts(trials, failed, pruned, batches, infeasible if constrained else None)
    best_word = "best feasible" if constrained else "best"
    if best_trial_ is None:
        ax.set_title(f"Convergence: no {'feasible' if constrained else 'successful'} trial yet ({counts})")
    else:
        title = f"Convergence: {best_word} {best_trial_.value:.6g} at trial #{best_trial_.number}"
        ax.set_title(f"{title}\n({counts})" if constrained else _wrapped(f"{title} ({counts})", width=90))
    ax.grid(True, axis="y", color="0.93")
    if trials:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


def _follow_the_good_trials(ax: Any, shown: Sequence[float], beyond: Sequence[float], maximize: bool) -> None:
    """A value axis (y) framing the values ``shown``; the trials ``beyond`` it (their x) as
    triangles on its worse edge, named in the legend; a log axis when the values shown are
    positive and span more than three decades."""
    from matplotlib.transforms import blended_transform_factory

    if shown and min(shown) > 0 and max(shown) / min(shown) > 1e3:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis)
    if not beyond:
        return
    low, high = min(shown), max(shown)
    if ax.get_yscale() == "log":
        ax.set_ylim(low / 1.3, high * 1.3)
    elif high > low:
        ax.set_ylim(*_padded(low, high, 0.06))
    ax.scatter(beyond, [0.0 if maximize else 1.0] * len(beyond), s=36, color="0.3", marker="v" if maximize else "^",
               clip_on=False, zorder=5, label=f"beyond the axis ({len(beyond)})",
               transform=blended_transform_factory(ax.transData, ax.transAxes))


def _mark_infeasible(ax: Any, record: SweepRecord, x: Sequence[float], y: Sequence[float], size: float,
                     explained: bool = True, count: Optional[int] = None) -> None:
    """The trials that broke the metric constraints: hollow grey diamonds, apart from the rest;
    ``explained``: the legend names the constraints; ``count``: how many there are, when some
    are not among those drawn here."""
    assert record.constraints is not None
    label = (f"infeasible ({len(x) if count is None else count})"
             + (f": breaks {record.constraints.describe()}" if explained else ""))
    ax.scatter(drawn(x), drawn(y), s=size, marker="D", facecolors="none", edgecolors="0.5", linewidths=0.9,
               zorder=2, label=label)


def _failed(trials: Sequence[Trial]) -> List[Trial]:
    """Trials with no value to draw: failed, or completed with a value that is not finite."""
    return [t for t in trials if t.failed or (t.ok and not usable(t))]


def _mark_failed(ax: Any, failed: Sequence[Trial], edge: float) -> None:
    """Failures have no value: a red cross each at height ``edge`` (axes fraction)."""
    from matplotlib.transforms import blended_transform_factory

    if failed:
        ax.scatter([t.number for t in failed], [edge] * len(failed), marker="x", color="red",
                   s=40, zorder=5, clip_on=False, label=f"failed ({len(failed)})",
                   transform=blended_transform_factory(ax.transData, ax.transAxes))


def _mark_batches(ax: Any, trials: Sequence[Trial]) -> int:
    """A light vertical line between batches; returns the number of batches."""
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
    return batches


def _trial_axis(ax: Any, trials: Sequence[Trial]) -> None:
    """Integer ticks, the trials' numbers from the first to the last."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if trials:
        ax.set_xlim(trials[0].number - 0.7, trials[-1].number + 0.7)


def _counts(trials: Sequence[Trial], failed: Sequence[Trial], pruned: Sequence[Trial], batches: int,
            infeasible: Optional[Sequence[Trial]] = None) -> str:
    """The trials in a title; ``infeasible`` counted when the sweep has metric constraints."""
    return (f"{len(trials)} trials, {len(failed)} failed" + (f", {len(pruned)} pruned" if pruned else "")
            + (f", {len(infeasible)} infeasible" if infeasible is not None else "")
            + (f", {batches} batches" if batches else ""))



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
                label=f"{'best feasible' if record.constraints is not None else 'best'}: trial #{best.number}")
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
    # with several objectives the curve is whatever the trial reported, none of them in particular
    ax.set_ylabel("value reported by the trial" if record.several
                  else f"{record.objective_name} ({direction_word(record.maximize)})")
    ax.set_title(f"Learning curves: {len(curves)} trials, {record.n_pruned} pruned")
    ax.grid(True, axis="y", color="0.93")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


# -- pareto.png and hypervolume.png: several objectives --------------------------------------------

# front points are labelled with their trial numbers up to this many (in each 2-D view)
_LABELLED_FRONT = 15


def _format_point(values: Optional[Sequence[float]]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values or []) + ")"


def reference_origin(record: SweepRecord) -> str:
    """Where the front's reference point comes from, in words."""
    if record._reference_point() is not None:
        return "set by hydra.sweeper.reference_point"
    return f"inferred from the {'completed' if record.constraints is None else 'feasible'} trials"


def _user_units(losses: Any, objectives: Objectives) -> Any:
    """Loss rows (or one row) -> the objectives' own units and directions."""
    import numpy as np

    signs = np.array([-1.0 if up else 1.0 for up in objectives.maximize])
    return np.asarray(losses, dtype=float) * signs


def _staircase(front_losses: Any) -> Any:
    """The boundary of what two loss points dominate, through them: from the lowest first loss
    across, then down to the next point (vertices, loss units)."""
    import numpy as np

    ordered = front_losses[np.lexsort((front_losses[:, 1], front_losses[:, 0]))]
    vertices = [ordered[0]]
    for point in ordered[1:]:
        vertices += [np.array([point[0], vertices[-1][1]]), point]
    return np.array(vertices)


def draw_pareto(record: SweepRecord, front: Front, path: Path,
                series: Optional[List[Tuple[int, float]]] = None) -> Path:
    """The completed trials in the objectives' own units, the front highlighted: with two
    objectives one view, the front as a step line and the region it dominates up to the
    reference point shaded (its area is the hypervolume); with more, every pair's view.
    ``series``: :func:`hypervolume_so_far` of ``front``, when already computed."""
    series = hypervolume_so_far(front) if series is None else series
    summary = _front_summary(record, front, series[-1][1] if series else 0.0)
    if record.objectives.count == 2:
        return _draw_pareto_pair(record, front, summary, path)
    return _draw_pareto_views(record, front, summary, path)


def _front_summary(record: SweepRecord, front: Front, volume: float) -> Tuple[str, str]:
    """The front's size, and its hypervolume with the reference point."""
    failed = len(_failed(record.trials))
    done = "completed" if record.constraints is None else "feasible"
    also = "" if record.constraints is None else f"{len(record.infeasible)} infeasible, "
    if not len(front.trials):
        return f"Pareto front: no {done} trial yet ({len(record.trials)} trials, {also}{failed} failed)", ""
    return (f"Pareto front: {len(front.solutions)} of {len(front.trials)} {done} trials ({also}{failed} failed)",
            f"hypervolume {volume:.6g} from the reference point {_format_point(front.reference_values)}, "
            f"{reference_origin(record)}")


def _wrapped(*lines: str, width: int = 100) -> str:
    """Text lines, each wrapped to ``width`` characters (empty ones left out)."""
    import textwrap

    return "\n".join(textwrap.fill(line, width) for line in lines if line)


def _scatter_trials(ax: Any, values: Any, on_front: Any, numbers: Sequence[int], x: int, y: int,
                    small: bool = False) -> None:
    """Dominated trials faint, front trials bold and, when few, labelled with their numbers."""
    dominated = ~on_front
    ax.scatter(drawn(values[dominated, x]), drawn(values[dominated, y]), s=14 if small else 22, color="C0",
               alpha=0.45, lw=0, zorder=3, label=f"dominated ({int(dominated.sum())})")
    ax.scatter(drawn(values[on_front, x]), drawn(values[on_front, y]), s=22 if small else 36, color="C1",
               edgecolors="black", linewidths=0.6, zorder=5, label=f"on the front ({int(on_front.sum())})")
    if 0 < on_front.sum() <= _LABELLED_FRONT:
        for number, row, on in zip(numbers, values, on_front):
            if on:
                ax.annotate(f"#{number}", (drawn([row[x]])[0], drawn([row[y]])[0]), xytext=(4, 3),
                            textcoords="offset points", fontsize=6 if small else 8, color="0.25", zorder=6)


def _zoom_to_trials(ax: Any, values: Any) -> None:
    """Axes that frame the trials (a far reference point would squash them into a corner; the
    title names it)."""
    import numpy as np

    for column, (scale, limits) in enumerate(((ax.get_xscale(), ax.set_xlim), (ax.get_yscale(), ax.set_ylim))):
        shown = np.asarray(drawn(values[:, column]), dtype=float)
        low, high = float(np.min(shown)), float(np.max(shown))
        if scale == "log":
            limits(low / 1.25, high * 1.25)
        elif high > low:
            limits(low - 0.06 * (high - low), high + 0.06 * (high - low))


# a front's axis of positive values spanning more than this ratio is drawn on a log scale
_FRONT_LOG_RATIO = 50.0


def _log_scale_if_wide(ax: Any, values: Any, axis: str, ratio: float = 1e3) -> None:
    """A log axis for positive values spanning more than ``ratio`` (three decades, as
    convergence.png, unless given), its ticks labelled as plain numbers (the figure draws no
    formulas)."""
    if len(values) and min(values) > 0 and max(values) / min(values) > ratio and max(values) <= DRAWN_LIMIT:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        _plain_log_ticks(ax.xaxis if axis == "x" else ax.yaxis)


def _plain_log_ticks(axis: Any) -> None:
    """A log axis's ticks labelled as plain numbers (the figures draw no formulas)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _infeasible_values(record: SweepRecord) -> Any:
    """The values (objectives' own units) of the completed trials that broke the metric
    constraints, a row each; None when there are none."""
    import numpy as np

    rows = [t.values for t in record.infeasible if t.values is not None and len(t.values) == record.objectives.count
            and all(is_finite_number(v) for v in t.values)]
    return np.array(rows, dtype=float) if rows else None


def _draw_pareto_pair(record: SweepRecord, front: Front, summary: Tuple[str, str], path: Path) -> Path:
    import numpy as np

    objectives = record.objectives
    fig = _figure((8.0, 6.8))
    ax = fig.add_subplot()
    infeasible = _infeasible_values(record)
    if infeasible is not None:
        _mark_infeasible(ax, record, infeasible[:, 0], infeasible[:, 1], size=24, explained=False)
    if len(front.trials):
        values = _user_units(front.losses, objectives)
        numbers = [t.number for t in front.trials]
        _scatter_trials(ax, values, front.on_front, numbers, 0, 1)
        stairs = _user_units(_staircase(front.losses[front.on_front]), objectives)
        ax.plot(drawn(stairs[:, 0]), drawn(stairs[:, 1]), color="C1", lw=2, zorder=4, label="front")
        reference = front.reference
        inside = front.losses[front.on_front & np.all(front.losses < reference, axis=1)]
        if len(inside) and np.all(np.abs(reference) <= DRAWN_LIMIT):
            # what the front dominates up to the reference point: the hypervolume's area
            outline = np.vstack([[inside[:, 0].min(), reference[1]], _staircase(inside),
                                 [reference[0], inside[:, 1].min()], reference])
            outline = _user_units(outline, objectives)
            ax.fill(outline[:, 0], outline[:, 1], color="C1", alpha=0.08, lw=0, zorder=1,
                    label="dominated up to the reference point (area: hypervolume)")
            corner = _user_units(reference, objectives)
            ax.scatter([corner[0]], [corner[1]], marker="+", s=80, color="0.3", zorder=5, label="reference point")
        shown = values if infeasible is None else np.vstack([values, infeasible])
        _log_scale_if_wide(ax, shown[:, 0], "x", ratio=_FRONT_LOG_RATIO)
        _log_scale_if_wide(ax, shown[:, 1], "y", ratio=_FRONT_LOG_RATIO)
        _zoom_to_trials(ax, shown)
    if len(front.trials) or infeasible is not None:
        # below the axes: a wide front leaves no empty corner
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=3, fontsize="small", frameon=False)
    ax.set_xlabel(objectives.labelled(0))
    ax.set_ylabel(objectives.labelled(1))
    ax.set_title(_wrapped(*summary), fontsize=10)
    ax.grid(True, color="0.93")
    fig.tight_layout()
    return _save(fig, path)


def _draw_pareto_views(record: SweepRecord, front: Front, summary: Tuple[str, str], path: Path) -> Path:
    """Every pair of objectives: objective ``j`` across, ``i`` up, below the diagonal; the
    legend and the hypervolume in the corner above it."""
    objectives = record.objectives
    m = objectives.count
    small = m > 4
    side = max(7.0, 2.6 * (m - 1))
    fig = _figure((side, side), dpi=90 if small else 100)
    axes = fig.subplots(m - 1, m - 1, squeeze=False)
    values = _user_units(front.losses, objectives) if len(front.trials) else None
    numbers = [t.number for t in front.trials]
    infeasible = _infeasible_values(record)
    for row in range(m - 1):
        for col in range(m - 1):
            ax = axes[row, col]
            x, y = col, row + 1
            if col > row:
                ax.axis("off")
                continue
            if infeasible is not None:
                _mark_infeasible(ax, record, infeasible[:, x], infeasible[:, y], size=12, explained=False)
            if values is not None:
                _scatter_trials(ax, values, front.on_front, numbers, x, y, small=True)
                _log_scale_if_wide(ax, values[:, x], "x")
                _log_scale_if_wide(ax, values[:, y], "y")
            ax.grid(True, color="0.93")
            ax.tick_params(labelsize=7 if small else 8)
            if row == m - 2:
                ax.set_xlabel(objectives.labelled(x), fontsize=8 if small else 10)
            if col == 0:
                ax.set_ylabel(objectives.labelled(y), fontsize=8 if small else 10)
    corner = axes[0, 1]  # the empty cells right of the first view
    width = 30 * (m - 2)
    text = _wrapped(summary[1], width=width) + "\n\n" + _wrapped(
        f"Each view shows two objectives; a trial is on the front when no trial is better on all {m} at once.",
        width=width)
    corner.text(0.0, 1.0, text, transform=corner.transAxes, va="top", ha="left", fontsize=9)
    if values is not None or infeasible is not None:
        handles, labels = axes[0, 0].get_legend_handles_labels()
        corner.legend(handles, labels, loc="lower left", fontsize="small", frameon=False)
    fig.suptitle(summary[0], fontsize=11)
    fig.subplots_adjust(left=0.9 / side + 0.04, right=0.97, bottom=0.75 / side + 0.04, top=1 - 0.7 / side,
                        wspace=0.25, hspace=0.25)
    return _save(fig, path)


def hypervolume_so_far(front: Front) -> List[Tuple[int, float]]:
    """``(trial number, hypervolume of the completed trials up to it)`` in trial order, every
    step measured from ``front``'s reference point, so the series never falls.

    Each trial adds what it alone dominates beyond the trials before it: its box up to the
    reference point less the volume of the earlier front clipped to that box (exact, and far
    cheaper than the whole front's volume at every step with four objectives or more)."""
    import numpy as np

    from .pareto import hypervolume

    series: List[Tuple[int, float]] = []
    reference = front.reference
    if reference is None:
        return series
    kept = np.zeros((0, front.objectives.count))  # the front so far, in loss units
    volume = 0.0
    for index in np.argsort([t.number for t in front.trials], kind="stable"):
        point = front.losses[index]
        if np.all(point < reference) and not np.any(np.all(kept <= point, axis=1)):
            clipped = hypervolume(np.maximum(kept, point), reference) if len(kept) else 0.0
            volume += max(0.0, float(np.prod(reference - point)) - clipped)
            kept = np.vstack([kept[~np.all(point <= kept, axis=1)], point])
        series.append((front.trials[index].number, volume))
    return series


def draw_hypervolume(record: SweepRecord, front: Front, path: Path,
                     series: Optional[List[Tuple[int, float]]] = None) -> Path:
    """The hypervolume of the front so far against trial number (the several objectives'
    convergence.png): the trials that grew it as dots, failures and batches marked.
    ``series``: :func:`hypervolume_so_far` of ``front``, when already computed."""
    trials = record.trials
    fig = _figure((8.0, 4.8))
    ax = fig.add_subplot()
    series = hypervolume_so_far(front) if series is None else series
    if series:
        ax.step([n for n, _ in series], drawn([v for _, v in series]), where="post", color="C1", lw=2,
                zorder=4, label="hypervolume so far")
        grew = [(n, v) for (n, v), (_, before) in zip(series, [(None, 0.0)] + series[:-1]) if v > before]
        ax.scatter([n for n, _ in grew], drawn([v for _, v in grew]), s=22, color="C1", edgecolors="black",
                   linewidths=0.6, zorder=5, label=f"trial that grew it ({len(grew)})")
    failed = _failed(trials)
    _mark_failed(ax, failed, edge=0.04)
    batches = _mark_batches(ax, trials)
    ax.set_xlabel("trial number")
    ax.set_ylabel("hypervolume of the front so far")
    _trial_axis(ax, trials)
    ax.set_ylim(bottom=0)
    counts = _counts(trials, failed, [], batches, None if record.constraints is None else record.infeasible)
    if not series:
        ax.set_title(f"Hypervolume: no completed trial yet ({counts})")
    else:
        ax.set_title(_wrapped(f"Hypervolume of the front so far: {series[-1][1]:.6g} after trial #{series[-1][0]} "
                              f"({counts})", "every step measured from the final reference point "
                              f"{_format_point(front.reference_values)} ({reference_origin(record)}), so the "
                              "curve never falls"), fontsize=10)
    ax.grid(True, axis="y", color="0.93")
    if trials:
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


# -- objective.png: the sweep's own surrogate ------------------------------------------------------



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
    elif param.log:
        _plain_log_ticks(axis)
    if not labelled:
        axis.set_major_formatter(NullFormatter())


# objective.png draws at most this many parameters: with more, the most important ones
_OBJECTIVE_PARAMS = 6


def ranked_params(params: Sequence[Any], importance: Optional[Sequence[Importance]]) -> List[Any]:
    """``params`` by the first objective's importance, the largest total effect first (those it
    does not name after, in their order); in their own order while the importance is unknown."""
    if not importance or not importance[0].params:
        return list(params)
    rank = {p.name: k for k, p in enumerate(importance[0].params)}
    return sorted(params, key=lambda p: rank.get(p.name, len(rank)))


def draw_objective(record: SweepRecord, path: Path, *, surface: Optional[Surface] = None,
                   importance: Optional[Sequence[Importance]] = None) -> Optional[Path]:
    """The partial dependence of the sweep's surrogate (:func:`.surface.fit_surface`): one curve per
    parameter on the diagonal, one contour map per pair below it on one colour scale (its bar
    says which end is better), the told points as black dots and the best trial as a red star;
    None while there are too few successful trials. With more than ``_OBJECTIVE_PARAMS``
    parameters and a known ``importance``, only the most important ones, in its order.
    ``surface``: the model already fitted, to reuse."""
    import numpy as np

    from .columns import ColumnLayout

    space = record.space
    surface = fit_surface(record) if surface is None else surface
    if surface is None:
        return None
    shown = space.params
    if len(shown) > _OBJECTIVE_PARAMS and importance and importance[0].params:
        shown = ranked_params(space.params, importance)[:_OBJECTIVE_PARAMS]
    left_out = len(space.params) - len(shown)
    at = [space.params.index(p) for p in shown]
    n_dims = len(shown)
    # keep the cost bounded at 10 params: 45 maps of n_points**2 cells each
    if n_dims <= 3:
        n_points, n_samples, cell, dpi = 40, 250, 2.6, 100
    elif n_dims <= 6:
        n_points, n_samples, cell, dpi = 24, 150, 2.1, 100
    else:
        n_points, n_samples, cell, dpi = 14, 80, 1.75, 90
    tspace = surface.tspace
    samples = np.asarray(tspace.transform(tspace.rvs(n_samples=n_samples, random_state=np.random.RandomState(0))))
    columns = [ColumnLayout.of(tspace).slices[k] for k in at]
    axes_values = [evenly_spaced(space.params[k], tspace.dimensions[k], n_points) for k in at]
    told = np.array([[_plot_coordinate(space.params[k], point[k]) for k in at] for point in surface.points],
                    dtype=float)
    best = record.best()  # None when no trial satisfied the metric constraints: no marker
    best_at = None
    if best is not None:
        point = space.to_point(best.params)
        best_at = [_plot_coordinate(space.params[k], point[k]) for k in at]
    maps = {(i, j): surface.values(partial_dependence(surface, samples, [columns[i], columns[j]],
                                                      [axes_values[i][1], axes_values[j][1]]))
            for i in range(n_dims) for j in range(i)}
    # one colour scale for every map, so that the bar reads them all
    levels: Any = 10
    if maps:
        low = min(float(np.min(z)) for z in maps.values())
        high = max(float(np.max(z)) for z in maps.values())
        levels = np.linspace(low, high, 16) if high > low else 10

    side = max(5.5, cell * n_dims) if n_dims > 1 else 6.0
    fig = _figure((side, side if n_dims > 1 else 4.5), dpi=dpi)
    axes = fig.subplots(n_dims, n_dims, squeeze=False)
    cmap = "viridis" if record.maximize else "viridis_r"  # good values bright either way
    small = n_dims > 6
    curves: List[Any] = []
    filled = None
    for i, row_param in enumerate(shown):
        for j, col_param in enumerate(shown):
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
                if best_at is not None:
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
                ys, _ = axes_values[i]
                filled = ax.contourf(xs, ys, maps[i, j], levels, cmap=cmap)
                ax.scatter(told[:, j], told[:, i], s=10, color="k", lw=0.0)
                if best_at is not None:
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
    which = (f"the {n_dims} most important of {len(space.params)} parameters, in that order "
             f"({left_out} left out)\n" if left_out else "")
    fig.suptitle(
        f"Partial dependence of {record.objective_name} ({direction_word(record.maximize)})\n"
        f"{which}the sweep's {surface.kind} refitted on {len(surface.points)} told trials; "
        + ("red: best trial" if record.constraints is None else
           "red: best feasible trial" if best is not None else "no feasible trial yet"),
        fontsize=9 if small or left_out else 11,
    )
    if n_dims == 1:
        fig.subplots_adjust(left=0.1, right=0.95, bottom=0.12, top=0.8)
    else:
        # room for the longest tick label on the left column (categorical options can be long)
        longest = max([len(str(v)) for p in shown[1:] if p.kind in ("grid", "categorical")
                       for v in (p.choices if p.kind == "grid" else p.labels)] + [5])
        left = min(0.25, 0.05 + 0.075 * longest * (0.6 if small else 1.0) / side)
        fig.subplots_adjust(left=left, right=1 - 0.8 / side, bottom=max(0.1, 0.75 / side),
                            top=1 - (1.35 if left_out else 1.15) / side, wspace=0.35, hspace=0.35)
        # in the empty top right corner, clear of the first curve's labels
        # (the last curve's labels are in the cell above it)
        row = max(0, min(n_dims - 3, 2))
        corner, lowest = axes[0, n_dims - 1].get_position(), axes[row, n_dims - 1].get_position()
        bottom = lowest.y0 + (0.45 if row == n_dims - 2 else 0.1) * lowest.height
        bar = fig.add_axes([corner.x0 + 0.5 * corner.width, bottom, 0.07 * corner.width,
                            corner.y1 - 0.1 * corner.height - bottom])
        _label_better_bar(fig.colorbar(filled, cax=bar), f"{record.objective_name} (maps)", record.maximize,
                          small=small)
    return _save(fig, path)


def _label_better_bar(bar: Any, label: str, maximize: bool, small: bool = False) -> None:
    """Name a vertical colour bar of values and its two ends, "better" at the top."""
    from matplotlib.ticker import MaxNLocator

    size = 7 if small else 9
    bar.set_label(label, fontsize=size)
    bar.ax.tick_params(labelsize=size - 1)
    low, high = bar.norm.vmin, bar.norm.vmax
    if bar.ax.get_yscale() != "log" and low is not None and high is not None and high > low:
        # a few round values (a contour set's bar would tick every level)
        bar.set_ticks([t for t in MaxNLocator(5).tick_values(low, high) if low <= t <= high])
    if not maximize:  # the lowest value is the best: at the top
        bar.ax.invert_yaxis()
    bar.ax.text(0.5, 1.02, "better", transform=bar.ax.transAxes, ha="center", va="bottom", fontsize=size)
    bar.ax.text(0.5, -0.02, "worse", transform=bar.ax.transAxes, ha="center", va="top", fontsize=size)


# -- importance.png, parallel.png, slices.png: which parameters matter --------------------------------


def draw_importance(importance: Sequence[Importance], path: Path) -> Optional[Path]:
    """Each parameter's total-effect index as a bar with its sd as an error bar and its
    first-order index as a thin bar inside it, the largest on top; a panel per objective. None
    while the importance is unknown (too few trials)."""
    import numpy as np

    panels = [entry for entry in importance if entry.params]
    if not panels:
        return None
    n_cols = min(len(panels), 3)
    n_rows = math.ceil(len(panels) / n_cols)
    most = max(len(entry.params) for entry in panels)
    longest = max(len(p.name) for entry in panels for p in entry.params)
    width = 2.2 + 0.07 * min(longest, 40) + 3.4
    fig = _figure((width * n_cols, max(1.2 + 0.32 * most, 2.2) * n_rows + 1.2))
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for ax, entry in zip(axes, panels):
        y = np.arange(len(entry.params))[::-1]  # the first (largest) on top
        total = np.array([p.total for p in entry.params])
        total_sd = np.array([p.total_sd for p in entry.params])
        first = np.array([p.first for p in entry.params])
        # an sd never takes the bar below zero
        ax.barh(y, total, height=0.65, color="C0", alpha=0.8, label="total effect (with others), ± sd",
                xerr=[np.minimum(total_sd, np.maximum(total, 0)), total_sd],
                error_kw={"ecolor": "0.2", "lw": 1, "capsize": 2.5})
        ax.barh(y, first, height=0.22, color="C1", label="first order (alone)")
        ax.set_yticks(y)
        ax.set_yticklabels([p.name for p in entry.params], fontsize=8 if most > 12 else 9)
        right = float(np.max(np.concatenate([total + total_sd, first, [0.0]])))
        ax.set_xlim(0, min(1.05, 1.1 * right) if right > 0 else 1.0)
        ax.set_ylim(-0.6, len(entry.params) - 0.4)
        ax.set_xlabel("share of the variance of the model's mean", fontsize=9)
        ax.set_title(f"{entry.objective} ({entry.n_trials} trials)", fontsize=10)
        ax.grid(True, axis="x", color="0.93")
        ax.set_axisbelow(True)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize="small", frameon=False)
    fig.suptitle("Which parameters matter\nSobol indices of the sweep's model, the largest on top", fontsize=10)
    fig.tight_layout(rect=(0, 0.45 / fig.get_figheight(), 1, 1))
    return _save(fig, path)


# parallel.png and slices.png need this many completed trials
_MIN_TRIALS_TO_COMPARE = 2
# slices.png draws at most this many parameters (the most important ones)
_SLICE_PANELS = 12


def _unit_position(param: Any, value: Any) -> float:
    """Where a trial's value of ``param`` sits on the parameter's axis, in [0, 1]: a range's
    value linearly (a log range geometrically), an option by its index; nan without one (an
    inactive conditional parameter, or a value outside the space)."""
    try:
        x = param.x_of(value)
    except (ValueError, TypeError):
        return math.nan
    if param.kind in ("grid", "categorical"):
        count = len(param.labels) if param.kind == "categorical" else len(param.choices)
        index = param.labels.index(x) if param.kind == "categorical" else x
        return 0.5 if count == 1 else index / (count - 1)
    low, high = float(param.low), float(param.high)
    if high == low:
        return 0.5
    if param.log:
        return (math.log(x) - math.log(low)) / (math.log(high) - math.log(low))
    return (x - low) / (high - low)


def _unit_ticks(param: Any) -> List[Tuple[float, str]]:
    """A parameter's labelled ticks on its [0, 1] axis: its options (thinned past 8), or five
    values of its range (spaced geometrically on a log range)."""
    if param.kind in ("grid", "categorical"):
        labels = [str(v) for v in (param.labels if param.kind == "categorical" else param.choices)]
        if len(labels) == 1:
            return [(0.5, labels[0])]
        step = max(1, math.ceil(len(labels) / 8))
        return [(k / (len(labels) - 1), labels[k]) for k in range(0, len(labels), step)]
    low, high = float(param.low), float(param.high)
    values = [min(max(low * (high / low) ** u if param.log else low + u * (high - low), low), high)
              for u in (0.0, 0.25, 0.5, 0.75, 1.0)]
    if param.kind == "int":  # each at its own place, once
        return [(_unit_position(param, v), str(v)) for v in dict.fromkeys(int(round(v)) for v in values)]
    return [(_unit_position(param, v), f"{v:.3g}") for v in values]


class _ValueAxis:
    """One objective's axis in parallel.png: its values mapped to [0, 1], framing the completed
    trials' values that follow the good ones (:func:`value_axis_limit`); values beyond (and
    pruned trials' beyond the completed ones) sit on the edge. On a log scale when the values
    framed are positive and span more than three decades."""

    def __init__(self, completed: Sequence[float], others: Sequence[float], maximize: bool) -> None:
        limit = value_axis_limit(completed, maximize)
        shown = [v for v in completed if not _beyond(v, limit, maximize)]
        self.low, self.high = (min(shown), max(shown)) if shown else (0.0, 1.0)
        self.clipped = any(not self.low <= v <= self.high for v in list(completed) + list(others))
        self.log = self.low > 0 and self.high / self.low > 1e3

    def _scaled(self, value: float) -> float:
        return math.log(value) if self.log else value

    def position(self, value: Optional[float]) -> float:
        if value is None or not math.isfinite(value):
            return math.nan
        value = min(max(value, self.low), self.high)
        low, high = self._scaled(self.low), self._scaled(self.high)
        return 0.5 if high == low else (self._scaled(value) - low) / (high - low)

    def ticks(self) -> List[Tuple[float, str]]:
        values = ([self.low * (self.high / self.low) ** u for u in (0, 0.25, 0.5, 0.75, 1)] if self.log
                  else [self.low + u * (self.high - self.low) for u in (0, 0.25, 0.5, 0.75, 1)])
        return [(self.position(v), f"{v:.4g}") for v in dict.fromkeys(values)]


def _objective_values(record: SweepRecord, trial: Trial) -> List[Optional[float]]:
    """A trial's value of each objective (as drawn), None where it has none."""
    values = trial.values if trial.values is not None else [trial.value]
    count = record.objectives.count if record.several else 1
    if values is None or len(values) != count:
        return [None] * count
    return [drawn([float(v)])[0] if is_finite_number(v) else None for v in values]


def draw_parallel(record: SweepRecord, path: Path, importance: Optional[Sequence[Importance]] = None
                  ) -> Optional[Path]:
    """Parallel coordinates: one line per completed trial across an axis per parameter (the
    most important first, when known) and one per objective, coloured by the (first)
    objective's value, the best trial (several objectives: the front's) on top; pruned trials
    faint and dashed, infeasible ones grey and dotted, failed ones left out. None with fewer
    than ``_MIN_TRIALS_TO_COMPARE`` completed trials."""
    import numpy as np
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LogNorm, Normalize

    if record.space is None or not record.space.params:
        return None
    completed = [t for t in record.trials if usable(t)]
    if len(completed) < _MIN_TRIALS_TO_COMPARE:
        return None
    params = ranked_params(record.space.params, importance)
    count = record.objectives.count if record.several else 1
    directions = record.objectives.maximize if record.several else (record.maximize,)
    pruned = [t for t in record.trials if t.pruned]
    values = {t.number: _objective_values(record, t) for t in completed + pruned}
    value_axes = [_ValueAxis([values[t.number][k] for t in completed],
                             [v for t in pruned for v in [values[t.number][k]] if v is not None], directions[k])
                  for k in range(count)]
    names = [p.name for p in params] + ([record.objectives.labelled(k) for k in range(count)] if record.several
                                       else [f"{record.objective_name} ({direction_word(record.maximize)[:3]})"])

    def line(trial: Trial) -> Any:
        return np.array([_unit_position(p, trial.params.get(p.name)) for p in params]
                        + [axis.position(v) for axis, v in zip(value_axes, values[trial.number])])

    x = np.arange(len(names), dtype=float)

    def segments(trial: Trial) -> List[Any]:
        """The trial's line through the axes where it has a value (over an inactive
        conditional parameter's), as a list of one polyline, or none."""
        y = line(trial)
        has = np.isfinite(y)
        return [np.column_stack([x[has], y[has]])] if has.sum() > 1 else []

    if record.several:
        front = record.front()
        best_numbers = {t.number for t, on in zip(front.trials, front.on_front) if on}
    else:
        best = record.best()
        best_numbers = set() if best is None else {best.number}
    colour_axis, colour_up = value_axes[0], directions[0]
    feasible = [t for t in completed if record.feasible(t)]
    infeasible = [t for t in completed if not record.feasible(t)]
    # the worse first, so that the good lines lie on top
    feasible.sort(key=lambda t: values[t.number][0] if colour_up else -values[t.number][0])
    n_axes = len(names)
    fig = _figure((min(18.0, max(8.0, 1.05 * n_axes + 2.5)), 5.8 if n_axes <= 12 else 6.5))
    ax = fig.add_subplot()
    many = len(completed) > 60
    if pruned:
        lines = [s for t in pruned for s in segments(t)]
        ax.add_collection(LineCollection(lines, colors="0.55", linewidths=0.7, linestyles="--", alpha=0.45,
                                         zorder=1, label=f"pruned ({len(pruned)}): value when stopped"))
    if infeasible:
        lines = [s for t in infeasible for s in segments(t)]
        ax.add_collection(LineCollection(lines, colors="0.45", linewidths=0.9, linestyles=":", alpha=0.7,
                                         zorder=2, label=f"infeasible ({len(infeasible)}): breaks "
                                                         f"{record.constraints.describe()}"))
    norm = (LogNorm if colour_axis.log else Normalize)(colour_axis.low, colour_axis.high)
    lines, colours = [], []
    for trial in feasible:
        if trial.number in best_numbers:
            continue
        pieces = segments(trial)
        lines += pieces
        colours += [values[trial.number][0]] * len(pieces)
    cmap = "viridis" if colour_up else "viridis_r"  # good values bright, as in objective.png
    coloured = LineCollection(lines, cmap=cmap, norm=norm, linewidths=0.8 if many else 1.2,
                              alpha=0.45 if many else 0.8, zorder=3)
    coloured.set_array(np.clip(np.array(colours, dtype=float), colour_axis.low, colour_axis.high))
    ax.add_collection(coloured)
    highlighted = [t for t in completed if t.number in best_numbers]
    label = _best_label(record, highlighted) if highlighted else None
    few = len(highlighted) <= 10  # a large front drawn thinner, so that it hides less
    for trial in sorted(highlighted, key=lambda t: t.number):
        for piece in segments(trial):
            if few:
                ax.plot(piece[:, 0], piece[:, 1], color="white", lw=4.0, zorder=4, solid_capstyle="round")
            ax.plot(piece[:, 0], piece[:, 1], color="C3", lw=2.0 if few else 1.1, alpha=1 if few else 0.75,
                    zorder=5, label=label)
            label = None
    # the axes: a vertical line each, its ticks labelled with real values
    small = n_axes > 10
    for k in range(n_axes):
        ax.axvline(k, color="0.2", lw=0.8, zorder=0)
        ticks = _unit_ticks(params[k]) if k < len(params) else value_axes[k - len(params)].ticks()
        for u, text in ticks:
            ax.plot([k - 0.03, k], [u, u], color="0.2", lw=0.8, zorder=0)
            ax.text(k - 0.05, u, text, ha="right", va="center", fontsize=6 if small else 7, zorder=6,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    ax.set_xlim(-0.6, n_axes - 0.7)
    ax.set_ylim(-0.04, 1.04)
    ax.set_yticks([])
    ax.set_xticks(x)
    ax.set_xticklabels([_broken_name(name) for name in names], fontsize=8 if small else 9)
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    bar = fig.colorbar(coloured, ax=ax, fraction=0.025, pad=0.02)
    bar.solids.set_alpha(1)
    if colour_axis.log:
        _plain_log_ticks(bar.ax.yaxis)
    _label_better_bar(bar, names[len(params)], colour_up, small=True)
    failed = len(_failed(record.trials))
    clipped = [record.objectives.labelled(k) if record.several else record.objective_name
               for k, axis in enumerate(value_axes) if axis.clipped]
    order = "parameters by importance, the largest first" if importance and importance[0].params else "parameters"
    lines_below = max(_broken_name(name).count("\n") for name in names)
    ax.set_title(_wrapped(
        f"Parallel coordinates: {len(completed)} completed trials across the {order}, "
        f"coloured by {names[len(params)]}",
        f"failed trials, not drawn: {failed}" + (f"; {', '.join(clipped)}: the axis frames the good completed "
                                                "trials, the others sit on its edge" if clipped else ""),
        width=int(10 * fig.get_figwidth())), fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07 - 0.035 * lines_below), ncol=4, fontsize="small",
              frameon=False)
    fig.tight_layout()
    return _save(fig, path)


def _broken_name(name: str, width: int = 14) -> str:
    """A long dotted name on several lines, broken after its dots (``model.\nweight_decay``)."""
    lines = [""]
    for part in name.replace(".", ".\n").split("\n"):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def _best_label(record: SweepRecord, highlighted: Sequence[Trial]) -> str:
    if record.several:
        return f"on the front ({len(highlighted)})"
    word = "best feasible" if record.constraints is not None else "best"
    return f"{word}: trial #{highlighted[0].number}"


def _slice_coordinate(param: Any, trial: Trial) -> float:
    """Where a trial sits on a parameter's axis in slices.png (an option at its index); nan
    without a value in the space."""
    value = trial.params.get(param.name)
    if math.isnan(_unit_position(param, value)):
        return math.nan
    return float(_plot_coordinate(param, param.x_of(value)))


def draw_slices(record: SweepRecord, path: Path, importance: Optional[Sequence[Importance]] = None
                ) -> Optional[Path]:
    """The value of each completed trial against each parameter, a panel each (the most
    important first when known, at most ``_SLICE_PANELS``), coloured by trial number, the best
    trial as a red star; the value axis follows the good trials (:func:`value_axis_limit`).
    One objective only (with several, parallel.png shows each); pruned and failed trials are
    left out. None with fewer than ``_MIN_TRIALS_TO_COMPARE`` completed trials."""
    import numpy as np
    from matplotlib.colors import Normalize

    if record.several or record.space is None or not record.space.params:
        return None
    completed = [t for t in record.trials if usable(t)]
    if len(completed) < _MIN_TRIALS_TO_COMPARE:
        return None
    ranked = ranked_params(record.space.params, importance)
    params = ranked[:_SLICE_PANELS]
    left_out = len(ranked) - len(params)
    maximize = record.maximize
    limit = value_axis_limit(drawn([t.value for t in completed]), maximize)
    value = {t.number: drawn([t.value])[0] for t in completed}
    inside = [t for t in completed if not _beyond(value[t.number], limit, maximize)]
    beyond = [t for t in completed if _beyond(value[t.number], limit, maximize)]
    best = record.best()
    n_cols = min(4, len(params))
    n_rows = math.ceil(len(params) / n_cols)
    fig = _figure((3.1 * n_cols + 2.0, 2.7 * n_rows + 1.5))
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharey=True)
    norm = Normalize(completed[0].number, max(completed[-1].number, completed[0].number + 1))
    jitter = np.random.RandomState(0)  # spreads the points of one option apart, the same each drawing
    points = None
    for ax, param in zip(axes.ravel(), params):
        few_values = param.kind == "int" and not param.log and param.high - param.low <= 12
        spread = 0.12 if param.kind in ("grid", "categorical") or few_values else 0.0
        at = {t.number: _slice_coordinate(param, t) + shift for t, shift in
              zip(completed, jitter.uniform(-spread, spread, len(completed)))}
        shown = [t for t in inside if math.isfinite(at[t.number])]
        feasible = [t for t in shown if record.feasible(t)]
        points = ax.scatter([at[t.number] for t in feasible], [value[t.number] for t in feasible],
                            c=[t.number for t in feasible], cmap="plasma", norm=norm, s=16, alpha=0.85, lw=0,
                            zorder=3)
        infeasible = [t for t in shown if not record.feasible(t)]
        if infeasible:
            ax.scatter([at[t.number] for t in infeasible], [value[t.number] for t in infeasible], s=18, marker="D",
                       facecolors="none", edgecolors="0.5", linewidths=0.8, zorder=2, label="infeasible")
        if best is not None and best in shown:
            ax.scatter([at[best.number]], [value[best.number]], s=110, marker="*", color="red", edgecolors="black",
                       linewidths=0.5, zorder=5, label="best")
        _follow_the_good_trials(ax, [value[t.number] for t in inside],
                                [at[t.number] for t in beyond if math.isfinite(at[t.number])], maximize)
        if param.log:
            ax.set_xscale("log")
        _option_axis(ax.xaxis, param, labelled=True)
        if param.kind in ("real", "int") and param.high > param.low:  # the range searched, whole
            ax.set_xlim(*((param.low / (param.high / param.low) ** 0.04, param.high * (param.high / param.low) ** 0.04)
                          if param.log else _padded(param.low, param.high, 0.04)))
        if param.kind in ("grid", "categorical"):
            ax.set_xlim(-0.5, len(param.labels if param.kind == "categorical" else param.choices) - 0.5)
            ax.tick_params(axis="x", labelrotation=30 if max(len(str(v)) for v in param.labels) > 6 else 0)
        ax.set_xlabel(param.name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, color="0.93")
    for ax in axes.ravel()[len(params):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel(f"{record.objective_name} ({direction_word(maximize)[:3]})", fontsize=9)
    order = "by importance, the largest first" if importance and importance[0].params else "in the space's order"
    fig.suptitle(_wrapped(
        f"{record.objective_name} against each parameter ({order}): {len(completed)} completed trials, "
        f"coloured by trial number; red star: {'best feasible' if record.constraints is not None else 'best'}",
        (f"{left_out} less important parameters left out; " if left_out else "")
        + "pruned and failed trials not drawn" + ("; triangles: beyond the axis, which follows the good trials"
                                                  if beyond else ""), width=int(12 * fig.get_figwidth())), fontsize=10)
    # fixed margins in inches (tight_layout would cost a rendering of every panel)
    width, height = fig.get_figwidth(), fig.get_figheight()
    fig.subplots_adjust(left=0.75 / width, right=1 - 1.3 / width, bottom=0.75 / height, top=1 - 0.9 / height,
                        wspace=0.12, hspace=0.55)
    if points is not None:
        bar = fig.colorbar(points, cax=fig.add_axes([1 - 0.95 / width, 0.15, 0.15 / width, 0.6]))
        bar.set_label("trial number", fontsize=9)
        bar.ax.tick_params(labelsize=8)
    return _save(fig, path)
