"""The trade-off between several objectives: ``pareto.png``.

Every completed trial in the objectives' own units and directions, those on the Pareto front
(:mod:`..solutions`) highlighted and, when few, labelled with their trial numbers. Two
objectives: one view, the front as a step line and the region it dominates up to the reference
point shaded (its area is the hypervolume); three or more: a view per pair of objectives,
below the diagonal. With ``metric_constraints`` the front is the feasible trials' and the
infeasible ones are drawn apart, as hollow grey diamonds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from . import canvas
from ...problem.objectives import Objectives
from ..solutions import Front
from ..surface import DRAWN_LIMIT, drawn
from ..sweep_record import SweepRecord, is_finite_number


# front points are labelled with their trial numbers up to this many (in each 2-D view)
_LABELLED_FRONT = 15


def format_point(values: Optional[Sequence[float]]) -> str:
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
    failed = len(canvas.failed_trials(record.trials))
    done = "completed" if record.constraints is None else "feasible"
    also = "" if record.constraints is None else f"{len(record.infeasible)} infeasible, "
    if not len(front.trials):
        return f"Pareto front: no {done} trial yet ({len(record.trials)} trials, {also}{failed} failed)", ""
    return (f"Pareto front: {len(front.solutions)} of {len(front.trials)} {done} trials ({also}{failed} failed)",
            f"hypervolume {volume:.6g} from the reference point {format_point(front.reference_values)}, "
            f"{reference_origin(record)}")


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
    fig = canvas.figure((8.0, 6.8))
    ax = fig.add_subplot()
    infeasible = _infeasible_values(record)
    if infeasible is not None:
        canvas.mark_infeasible(ax, record, infeasible[:, 0], infeasible[:, 1], size=24, explained=False)
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
        canvas.log_scale_if_wide(ax, shown[:, 0], "x", ratio=_FRONT_LOG_RATIO)
        canvas.log_scale_if_wide(ax, shown[:, 1], "y", ratio=_FRONT_LOG_RATIO)
        _zoom_to_trials(ax, shown)
    if len(front.trials) or infeasible is not None:
        # below the axes: a wide front leaves no empty corner
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=3, fontsize="small", frameon=False)
    ax.set_xlabel(objectives.labelled(0))
    ax.set_ylabel(objectives.labelled(1))
    ax.set_title(canvas.wrapped(*summary), fontsize=10)
    ax.grid(True, color="0.93")
    fig.tight_layout()
    return canvas.save(fig, path)


def _draw_pareto_views(record: SweepRecord, front: Front, summary: Tuple[str, str], path: Path) -> Path:
    """Every pair of objectives: objective ``j`` across, ``i`` up, below the diagonal; the
    legend and the hypervolume in the corner above it."""
    objectives = record.objectives
    m = objectives.count
    small = m > 4
    side = max(7.0, 2.6 * (m - 1))
    fig = canvas.figure((side, side), dpi=90 if small else 100)
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
                canvas.mark_infeasible(ax, record, infeasible[:, x], infeasible[:, y], size=12, explained=False)
            if values is not None:
                _scatter_trials(ax, values, front.on_front, numbers, x, y, small=True)
                canvas.log_scale_if_wide(ax, values[:, x], "x")
                canvas.log_scale_if_wide(ax, values[:, y], "y")
            ax.grid(True, color="0.93")
            ax.tick_params(labelsize=7 if small else 8)
            if row == m - 2:
                ax.set_xlabel(objectives.labelled(x), fontsize=8 if small else 10)
            if col == 0:
                ax.set_ylabel(objectives.labelled(y), fontsize=8 if small else 10)
    corner = axes[0, 1]  # the empty cells right of the first view
    width = 30 * (m - 2)
    text = canvas.wrapped(summary[1], width=width) + "\n\n" + canvas.wrapped(
        f"Each view shows two objectives; a trial is on the front when no trial is better on all {m} at once.",
        width=width)
    corner.text(0.0, 1.0, text, transform=corner.transAxes, va="top", ha="left", fontsize=9)
    if values is not None or infeasible is not None:
        handles, labels = axes[0, 0].get_legend_handles_labels()
        corner.legend(handles, labels, loc="lower left", fontsize="small", frameon=False)
    fig.suptitle(summary[0], fontsize=11)
    fig.subplots_adjust(left=0.9 / side + 0.04, right=0.97, bottom=0.75 / side + 0.04, top=1 - 0.7 / side,
                        wspace=0.25, hspace=0.25)
    return canvas.save(fig, path)


def hypervolume_so_far(front: Front) -> List[Tuple[int, float]]:
    """``(trial number, hypervolume of the completed trials up to it)`` in trial order, every
    step measured from ``front``'s reference point, so the series never falls.

    Each trial adds what it alone dominates beyond the trials before it: its box up to the
    reference point less the volume of the earlier front clipped to that box (exact, and far
    cheaper than the whole front's volume at every step with four objectives or more)."""
    import numpy as np

    from ...search.pareto import hypervolume

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
