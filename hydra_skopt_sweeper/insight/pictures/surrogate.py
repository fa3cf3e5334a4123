"""What the sweep's own model expects: ``objective.png``.

The partial dependence of the sweep's surrogate (:func:`..surface.fit_surface`), once there
are enough successful trials (:func:`..surface.min_trials_for_objective`); its contour maps on
one colour scale, whose bar says which end is better; with many parameters, the most important
ones. Categorical parameters show their options; grid parameters (``range`` with a step) are
searched as an index and shown with their real values.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, List, Optional, Sequence

from . import canvas
from ..importance import Importance
from ..surface import Surface, evenly_spaced, fit_surface, partial_dependence
from ..sweep_record import SweepRecord, direction_word

log = logging.getLogger(__name__)


# objective.png draws at most this many parameters: with more, the most important ones
_OBJECTIVE_PARAMS = 6


def draw_objective(record: SweepRecord, path: Path, *, surface: Optional[Surface] = None,
                   importance: Optional[Sequence[Importance]] = None) -> Optional[Path]:
    """The partial dependence of the sweep's surrogate (:func:`..surface.fit_surface`): one curve per
    parameter on the diagonal, one contour map per pair below it on one colour scale (its bar
    says which end is better), the told points as black dots and the best trial as a red star;
    None while there are too few successful trials. With more than ``_OBJECTIVE_PARAMS``
    parameters and a known ``importance``, only the most important ones, in its order.
    ``surface``: the model already fitted, to reuse."""
    import numpy as np

    from ...search.columns import ColumnLayout

    space = record.space
    surface = fit_surface(record) if surface is None else surface
    if surface is None:
        return None
    shown = space.params
    if len(shown) > _OBJECTIVE_PARAMS and importance and importance[0].params:
        shown = canvas.ranked_params(space.params, importance)[:_OBJECTIVE_PARAMS]
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
    told = np.array([[canvas.plot_coordinate(space.params[k], point[k]) for k in at] for point in surface.points],
                    dtype=float)
    best = record.best()  # None when no trial satisfied the metric constraints: no marker
    best_at = None
    if best is not None:
        point = space.to_point(best.params)
        best_at = [canvas.plot_coordinate(space.params[k], point[k]) for k in at]
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
    fig = canvas.figure((side, side if n_dims > 1 else 4.5), dpi=dpi)
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
                canvas.option_axis(ax.xaxis, col_param, labelled=True)
            else:
                ys, _ = axes_values[i]
                filled = ax.contourf(xs, ys, maps[i, j], levels, cmap=cmap)
                ax.scatter(told[:, j], told[:, i], s=10, color="k", lw=0.0)
                if best_at is not None:
                    ax.scatter([best_at[j]], [best_at[i]], s=100, color="r", lw=0.0, marker="*", zorder=4)
                bottom, left = i == n_dims - 1, j == 0
                canvas.option_axis(ax.xaxis, col_param, labelled=bottom)
                canvas.option_axis(ax.yaxis, row_param, labelled=left)
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
            axes[k, k].set_ylim(*canvas.padded(low, high, 0.05))
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
        canvas.label_better_bar(fig.colorbar(filled, cax=bar), f"{record.objective_name} (maps)", record.maximize,
                          small=small)
    return canvas.save(fig, path)
