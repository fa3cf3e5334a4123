"""What every picture of a sweep is drawn with: the figure and its saver, and shared axes.

A figure outside pyplot's global state (:func:`figure`), written atomically and cleared
(:func:`save`: the one place a picture reaches the disk, so a test can watch every figure
drawn); a value axis that follows the good trials (:func:`value_axis_limit`); the marks of
failed, pruned and infeasible trials and of batch boundaries; and the axes of parameters
(options at their index, ranges in their own scale, the most important first).
"""
from __future__ import annotations

import logging
import math
import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from ..importance import Importance
from ...records.journal import Trial
from ..surface import DRAWN_LIMIT, drawn
from ...records.sweep_dir import atomic_write
from ..sweep_record import SweepRecord, usable

log = logging.getLogger(__name__)


def figure(figsize, dpi=100):
    """A Figure outside pyplot's global state (nothing to close, nothing leaks)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi)


def save(fig, path: Path) -> Path:
    try:
        return atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        fig.clear()


def wrapped(*lines: str, width: int = 100) -> str:
    """Text lines, each wrapped to ``width`` characters (empty ones left out)."""
    import textwrap

    return "\n".join(textwrap.fill(line, width) for line in lines if line)


def padded(low: float, high: float, fraction: float) -> Tuple[float, float]:
    """Axis limits ``fraction`` of the range beyond ``low`` and ``high``, finite even when the
    values span all of float's range."""
    margin = fraction * high - fraction * low
    largest = sys.float_info.max
    return max(low - margin, -largest), min(high + margin, largest)


def plain_log_ticks(axis: Any) -> None:
    """A log axis's ticks labelled as plain numbers (the figures draw no formulas)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def log_scale_if_wide(ax: Any, values: Any, axis: str, ratio: float = 1e3) -> None:
    """A log axis for positive values spanning more than ``ratio`` (three decades, as
    convergence.png, unless given), its ticks labelled as plain numbers (the figure draws no
    formulas)."""
    if len(values) and min(values) > 0 and max(values) / min(values) > ratio and max(values) <= DRAWN_LIMIT:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        plain_log_ticks(ax.xaxis if axis == "x" else ax.yaxis)


def label_better_bar(bar: Any, label: str, maximize: bool, small: bool = False) -> None:
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


def beyond(value: float, limit: Optional[float], maximize: bool) -> bool:
    return limit is not None and (value < limit if maximize else value > limit)


def follow_the_good_trials(ax: Any, shown: Sequence[float], beyond: Sequence[float], maximize: bool) -> None:
    """A value axis (y) framing the values ``shown``; the trials ``beyond`` it (their x) as
    triangles on its worse edge, named in the legend; a log axis when the values shown are
    positive and span more than three decades."""
    from matplotlib.transforms import blended_transform_factory

    if shown and min(shown) > 0 and max(shown) / min(shown) > 1e3:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    if not beyond:
        return
    low, high = min(shown), max(shown)
    if ax.get_yscale() == "log":
        ax.set_ylim(low / 1.3, high * 1.3)
    elif high > low:
        ax.set_ylim(*padded(low, high, 0.06))
    ax.scatter(beyond, [0.0 if maximize else 1.0] * len(beyond), s=36, color="0.3", marker="v" if maximize else "^",
               clip_on=False, zorder=5, label=f"beyond the axis ({len(beyond)})",
               transform=blended_transform_factory(ax.transData, ax.transAxes))


def failed_trials(trials: Sequence[Trial]) -> List[Trial]:
    """Trials with no value to draw: failed, or completed with a value that is not finite."""
    return [t for t in trials if t.failed or (t.ok and not usable(t))]


def mark_failed(ax: Any, failed: Sequence[Trial], edge: float) -> None:
    """Failures have no value: a red cross each at height ``edge`` (axes fraction)."""
    from matplotlib.transforms import blended_transform_factory

    if failed:
        ax.scatter([t.number for t in failed], [edge] * len(failed), marker="x", color="red",
                   s=40, zorder=5, clip_on=False, label=f"failed ({len(failed)})",
                   transform=blended_transform_factory(ax.transData, ax.transAxes))


def mark_batches(ax: Any, trials: Sequence[Trial]) -> int:
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


def mark_infeasible(ax: Any, record: SweepRecord, x: Sequence[float], y: Sequence[float], size: float,
                     explained: bool = True, count: Optional[int] = None) -> None:
    """The trials that broke the metric constraints: hollow grey diamonds, apart from the rest;
    ``explained``: the legend names the constraints; ``count``: how many there are, when some
    are not among those drawn here."""
    assert record.constraints is not None
    label = (f"infeasible ({len(x) if count is None else count})"
             + (f": breaks {record.constraints.describe()}" if explained else ""))
    ax.scatter(drawn(x), drawn(y), s=size, marker="D", facecolors="none", edgecolors="0.5", linewidths=0.9,
               zorder=2, label=label)


def trial_axis(ax: Any, trials: Sequence[Trial]) -> None:
    """Integer ticks, the trials' numbers from the first to the last."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if trials:
        ax.set_xlim(trials[0].number - 0.7, trials[-1].number + 0.7)


def counts(trials: Sequence[Trial], failed: Sequence[Trial], pruned: Sequence[Trial], batches: int,
            infeasible: Optional[Sequence[Trial]] = None) -> str:
    """The trials in a title; ``infeasible`` counted when the sweep has metric constraints."""
    return (f"{len(trials)} trials, {len(failed)} failed" + (f", {len(pruned)} pruned" if pruned else "")
            + (f", {len(infeasible)} infeasible" if infeasible is not None else "")
            + (f", {batches} batches" if batches else ""))


def ranked_params(params: Sequence[Any], importance: Optional[Sequence[Importance]]) -> List[Any]:
    """``params`` by the first objective's importance, the largest total effect first (those it
    does not name after, in their order); in their own order while the importance is unknown."""
    if not importance or not importance[0].params:
        return list(params)
    rank = {p.name: k for k, p in enumerate(importance[0].params)}
    return sorted(params, key=lambda p: rank.get(p.name, len(rank)))


def plot_coordinate(param: Any, x: Any) -> Any:
    """Where a point's coordinate goes on its axis: categorical options at their index."""
    return list(param.labels).index(str(x)) if param.kind == "categorical" else x


def option_axis(axis: Any, param: Any, labelled: bool) -> None:
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
        plain_log_ticks(axis)
    if not labelled:
        axis.set_major_formatter(NullFormatter())


def unit_position(param: Any, value: Any) -> float:
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


# parallel.png and slices.png need this many completed trials
MIN_TRIALS_TO_COMPARE = 2
