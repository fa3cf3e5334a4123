"""Which parameters matter, and how: ``importance.png``, ``parallel.png``, ``slices.png``.

* ``importance.png``: each parameter's share of the variance of the model's mean
  (:mod:`..importance`), a panel per objective;
* ``parallel.png``: parallel coordinates, a line per trial across the parameters and the
  objectives, coloured by the (first) objective;
* ``slices.png`` (one objective): each trial's value against each parameter, a panel each.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from . import canvas
from ..importance import Importance
from ...records.journal import Trial
from ..surface import drawn
from ..sweep_record import SweepRecord, direction_word, is_finite_number, usable


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
    fig = canvas.figure((width * n_cols, max(1.2 + 0.32 * most, 2.2) * n_rows + 1.2))
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
    return canvas.save(fig, path)


# slices.png draws at most this many parameters (the most important ones)
_SLICE_PANELS = 12


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
        return [(canvas.unit_position(param, v), str(v)) for v in dict.fromkeys(int(round(v)) for v in values)]
    return [(canvas.unit_position(param, v), f"{v:.3g}") for v in values]


class _ValueAxis:
    """One objective's axis in parallel.png: its values mapped to [0, 1], framing the completed
    trials' values that follow the good ones (:func:`canvas.value_axis_limit`); values beyond (and
    pruned trials' beyond the completed ones) sit on the edge. On a log scale when the values
    framed are positive and span more than three decades."""

    def __init__(self, completed: Sequence[float], others: Sequence[float], maximize: bool) -> None:
        limit = canvas.value_axis_limit(completed, maximize)
        shown = [v for v in completed if not canvas.beyond(v, limit, maximize)]
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
    than ``canvas.MIN_TRIALS_TO_COMPARE`` completed trials."""
    import numpy as np
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LogNorm, Normalize

    if record.space is None or not record.space.params:
        return None
    completed = [t for t in record.trials if usable(t)]
    if len(completed) < canvas.MIN_TRIALS_TO_COMPARE:
        return None
    params = canvas.ranked_params(record.space.params, importance)
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
        return np.array([canvas.unit_position(p, trial.params.get(p.name)) for p in params]
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
    fig = canvas.figure((min(18.0, max(8.0, 1.05 * n_axes + 2.5)), 5.8 if n_axes <= 12 else 6.5))
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
        canvas.plain_log_ticks(bar.ax.yaxis)
    canvas.label_better_bar(bar, names[len(params)], colour_up, small=True)
    failed = len(canvas.failed_trials(record.trials))
    clipped = [record.objectives.labelled(k) if record.several else record.objective_name
               for k, axis in enumerate(value_axes) if axis.clipped]
    order = "parameters by importance, the largest first" if importance and importance[0].params else "parameters"
    lines_below = max(_broken_name(name).count("\n") for name in names)
    ax.set_title(canvas.wrapped(
        f"Parallel coordinates: {len(completed)} completed trials across the {order}, "
        f"coloured by {names[len(params)]}",
        f"failed trials, not drawn: {failed}" + (f"; {', '.join(clipped)}: the axis frames the good completed "
                                                "trials, the others sit on its edge" if clipped else ""),
        width=int(10 * fig.get_figwidth())), fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07 - 0.035 * lines_below), ncol=4, fontsize="small",
              frameon=False)
    fig.tight_layout()
    return canvas.save(fig, path)


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
    if math.isnan(canvas.unit_position(param, value)):
        return math.nan
    return float(canvas.plot_coordinate(param, param.x_of(value)))


def draw_slices(record: SweepRecord, path: Path, importance: Optional[Sequence[Importance]] = None
                ) -> Optional[Path]:
    """The value of each completed trial against each parameter, a panel each (the most
    important first when known, at most ``_SLICE_PANELS``), coloured by trial number, the best
    trial as a red star; the value axis follows the good trials (:func:`canvas.value_axis_limit`).
    One objective only (with several, parallel.png shows each); pruned and failed trials are
    left out. None with fewer than ``canvas.MIN_TRIALS_TO_COMPARE`` completed trials."""
    import numpy as np
    from matplotlib.colors import Normalize

    if record.several or record.space is None or not record.space.params:
        return None
    completed = [t for t in record.trials if usable(t)]
    if len(completed) < canvas.MIN_TRIALS_TO_COMPARE:
        return None
    ranked = canvas.ranked_params(record.space.params, importance)
    params = ranked[:_SLICE_PANELS]
    left_out = len(ranked) - len(params)
    maximize = record.maximize
    limit = canvas.value_axis_limit(drawn([t.value for t in completed]), maximize)
    value = {t.number: drawn([t.value])[0] for t in completed}
    inside = [t for t in completed if not canvas.beyond(value[t.number], limit, maximize)]
    beyond = [t for t in completed if canvas.beyond(value[t.number], limit, maximize)]
    best = record.best()
    n_cols = min(4, len(params))
    n_rows = math.ceil(len(params) / n_cols)
    fig = canvas.figure((3.1 * n_cols + 2.0, 2.7 * n_rows + 1.5))
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
        canvas.follow_the_good_trials(ax, [value[t.number] for t in inside],
                                [at[t.number] for t in beyond if math.isfinite(at[t.number])], maximize)
        if param.log:
            ax.set_xscale("log")
        canvas.option_axis(ax.xaxis, param, labelled=True)
        if param.kind in ("real", "int") and param.high > param.low:  # the range searched, whole
            ax.set_xlim(*((param.low / (param.high / param.low) ** 0.04, param.high * (param.high / param.low) ** 0.04)
                          if param.log else canvas.padded(param.low, param.high, 0.04)))
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
    fig.suptitle(canvas.wrapped(
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
    return canvas.save(fig, path)
