"""How a sweep went, trial after trial: ``convergence.png``, ``hypervolume.png``, ``curves.png``.

* ``convergence.png`` (one objective): every trial's value (the user's value, not the
  sign-flipped loss the GP is told) against its trial number, the best value so far as a line,
  batch boundaries as light vertical lines, pruned trials as hollow grey dots (their value when
  stopped) and failed trials as red crosses on the edge of the plot; with
  ``metric_constraints``, the trials that broke them as hollow grey diamonds, left out of the
  best so far. The value axis follows the good trials (:func:`.canvas.value_axis_limit`): the
  others are triangles on its edge;
* ``hypervolume.png`` (several objectives): the hypervolume of the front so far against trial
  number, every step measured from the final reference point (so the curve never falls),
  failures and batches marked as in ``convergence.png``;
* ``curves.png``: every trial's learning curve (``.curves/``, see :mod:`...records.curves`; a
  paused trial that was continued is drawn once, its whole curve under its continuation's number,
  a hollow red dot where it was paused),
  pruned ones dashed, the best trial's highlighted; with the forecast rule, where each
  unfinished trial is forecast to end (``.forecasts/``, see :mod:`...records.forecasts`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

from . import canvas
from .front import format_point, hypervolume_so_far, reference_origin
from ...records.curves import Curve, read_curve, whole_curves
from ...records.forecasts import forecast, latest_check, read_plan
from ...records.journal import Trial
from ...records.sweep_dir import SweepDir
from ..solutions import Front
from ..surface import drawn
from ..sweep_record import SweepRecord, direction_word, usable


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


def draw_convergence(record: SweepRecord, path: Path) -> Path:
    """Best value so far against trial number; every trial a dot, failures and batches marked;
    the value axis follows the good trials (:func:`canvas.value_axis_limit`), the others drawn at its edge."""
    trials = record.trials
    maximize = record.maximize
    fig = canvas.figure((8.0, 4.8))
    ax = fig.add_subplot()

    ok = [t for t in trials if usable(t)]
    constrained = record.constraints is not None
    infeasible = [t for t in ok if not record.feasible(t)]
    pruned = [t for t in trials if t.pruned and t.value is not None and math.isfinite(t.value)]
    limit = canvas.value_axis_limit(drawn([t.value for t in ok]), maximize)
    beyond = {t.number for t in ok + pruned if canvas.beyond(drawn([t.value])[0], limit, maximize)}
    inside = lambda t: t.number not in beyond  # noqa: E731
    if ok:
        shown = [t for t in ok if record.feasible(t) and inside(t)]
        ax.scatter([t.number for t in shown], drawn([t.value for t in shown]), s=22, color="C0", alpha=0.75,
                   zorder=3, label="feasible trial" if constrained else "trial")
        kept = [t for t in infeasible if inside(t)]
        if kept:
            canvas.mark_infeasible(ax, record, [t.number for t in kept], [t.value for t in kept], size=26,
                             count=len(infeasible))
        series = best_so_far(trials, maximize, record.feasible if constrained else None)
        steps_x, steps_y = [n for n, _ in series], [b for _, b in series]
        ax.step(steps_x, drawn(steps_y), where="post", color="C1", lw=2, zorder=4,
                label="best feasible so far" if constrained else "best so far")
    if pruned:
        kept = [t for t in pruned if inside(t)]
        ax.scatter([t.number for t in kept], drawn([t.value for t in kept]), s=22, facecolors="none",
                   edgecolors="0.55", zorder=3, label=f"pruned ({len(pruned)}): value when stopped")
    canvas.follow_the_good_trials(ax, drawn([t.value for t in ok + pruned if inside(t)]), sorted(beyond), maximize)
    failed = canvas.failed_trials(trials)
    canvas.mark_failed(ax, failed, edge=0.04 if maximize else 0.96)
    batches = canvas.mark_batches(ax, trials)

    ax.set_xlabel("trial number")
    ax.set_ylabel(f"{record.objective_name} ({direction_word(maximize)})")
    canvas.trial_axis(ax, trials)
    best_trial_ = record.best()
    counts = canvas.counts(trials, failed, pruned, batches, infeasible if constrained else None)
    best_word = "best feasible" if constrained else "best"
    if best_trial_ is None:
        ax.set_title(f"Convergence: no {'feasible' if constrained else 'successful'} trial yet ({counts})")
    else:
        title = f"Convergence: {best_word} {best_trial_.value:.6g} at trial #{best_trial_.number}"
        ax.set_title(f"{title}\n({counts})" if constrained else canvas.wrapped(f"{title} ({counts})", width=90))
    ax.grid(True, axis="y", color="0.93")
    if trials:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return canvas.save(fig, path)


def forecast_marks(record: SweepRecord, curves: Mapping[int, Curve]) -> List[Tuple[int, int, float, int, float, float]]:
    """Where the forecast rule expects each unfinished trial to end: ``(trial, last step, last
    value, final step, forecast)`` and the forecast's standard deviation, in the sweep's units,
    for every trial with a stop plan that reached one of its checks and has not completed."""
    done = {t.number for t in record.trials if not t.pruned}
    marks = []
    for number, curve in sorted(curves.items()):
        if number in done:
            continue
        plan = read_plan(record.sweep_dir, number)
        check = latest_check(plan, curve)
        loss = None if check is None else forecast(check, curve, record.maximize)
        if check is not None and loss is not None:
            marks.append((number, curve[-1][0], curve[-1][1], check.final_step,
                          -loss if record.maximize else loss, check.sd))
    return marks


def draw_curves(record: SweepRecord, path: Path) -> Optional[Path]:
    """Every trial's learning curve against its step: completed trials solid, pruned ones
    dashed, the best trial's thick; where the forecast rule planned a trial that has not
    completed, its forecast end with a band of two standard deviations (:func:`forecast_marks`);
    None when no trial reported a curve."""
    from matplotlib.ticker import MaxNLocator

    curves = whole_curves(record.sweep_dir, record.trials)  # a continued trial: one curve, under its last number
    if not curves:
        return None
    by_number = {t.number: t for t in record.trials}
    best = record.best()
    fig = canvas.figure((8.0, 4.8))
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
    marks = [] if record.several else forecast_marks(record, curves)
    for _, step, value, final_step, mean, sd in marks:
        ax.plot([step, final_step], [value, mean], color="C2", lw=0.8, linestyle=":")
        ax.errorbar([final_step], [mean], yerr=[2 * sd], color="C2", fmt="o", ms=3, capsize=3, lw=0.9)
    if marks:
        ax.errorbar([], [], yerr=[], color="C2", fmt="o", ms=3, capsize=3, lw=0.9,
                    label="forecast end of an unfinished trial (± 2 sd)")
    ax.plot([], [], color="C0", lw=0.9, label="completed")
    n_stopped = sum(1 for number in curves if number in by_number and by_number[number].pruned)
    if n_stopped:
        ax.plot([], [], color="0.6", lw=0.9, linestyle="--", label=f"pruned ({n_stopped})")
    values = sorted(v for curve in curves.values() for _, v in curve)
    if values[0] > 0 and values[-1] / values[0] > 1e3:
        ax.set_yscale("log")
    else:  # a few diverging trials must not flatten every other curve: clip at the 90th percentile
        low, high = (values[0], values[int(0.9 * (len(values) - 1))]) if not record.maximize else \
            (values[int(0.1 * (len(values) - 1))], values[-1])
        if high > low:
            ax.set_ylim(*canvas.padded(low, high, 0.08))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step (reported by the trial)")
    # with several objectives the curve is whatever the trial reported, none of them in particular
    ax.set_ylabel("value reported by the trial" if record.several
                  else f"{record.objective_name} ({direction_word(record.maximize)})")
    paused_curves = [read_curve(SweepDir(record.sweep_dir).curve(number)) for number in record.continued]
    pauses = [curve[-1] for curve in paused_curves if curve]
    if pauses:  # where a continued configuration was paused, on its whole curve
        ax.plot([s for s, _ in pauses], [v for _, v in pauses], "o", mfc="none", mec="C3", ms=5, zorder=6,
                label=f"paused, then continued ({len(pauses)})")
    ax.set_title(f"Learning curves: {len(curves)} trials, {n_stopped} pruned" if not record.continued else
                 f"Learning curves: {len(curves)} configurations ({len(record.trials)} trials), {n_stopped} pruned")
    ax.grid(True, axis="y", color="0.93")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return canvas.save(fig, path)


def draw_hypervolume(record: SweepRecord, front: Front, path: Path,
                     series: Optional[List[Tuple[int, float]]] = None) -> Path:
    """The hypervolume of the front so far against trial number (the several objectives'
    convergence.png): the trials that grew it as dots, failures and batches marked.
    ``series``: :func:`hypervolume_so_far` of ``front``, when already computed."""
    trials = record.trials
    fig = canvas.figure((8.0, 4.8))
    ax = fig.add_subplot()
    series = hypervolume_so_far(front) if series is None else series
    if series:
        ax.step([n for n, _ in series], drawn([v for _, v in series]), where="post", color="C1", lw=2,
                zorder=4, label="hypervolume so far")
        grew = [(n, v) for (n, v), (_, before) in zip(series, [(None, 0.0)] + series[:-1]) if v > before]
        ax.scatter([n for n, _ in grew], drawn([v for _, v in grew]), s=22, color="C1", edgecolors="black",
                   linewidths=0.6, zorder=5, label=f"trial that grew it ({len(grew)})")
    failed = canvas.failed_trials(trials)
    canvas.mark_failed(ax, failed, edge=0.04)
    batches = canvas.mark_batches(ax, trials)
    ax.set_xlabel("trial number")
    ax.set_ylabel("hypervolume of the front so far")
    canvas.trial_axis(ax, trials)
    ax.set_ylim(bottom=0)
    counts = canvas.counts(trials, failed, [], batches, None if record.constraints is None else record.infeasible)
    if not series:
        ax.set_title(f"Hypervolume: no completed trial yet ({counts})")
    else:
        ax.set_title(canvas.wrapped(f"Hypervolume of the front so far: {series[-1][1]:.6g} after trial #{series[-1][0]} "
                              f"({counts})", "every step measured from the final reference point "
                              f"{format_point(front.reference_values)} ({reference_origin(record)}), so the "
                              "curve never falls"), fontsize=10)
    ax.grid(True, axis="y", color="0.93")
    if trials:
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return canvas.save(fig, path)
