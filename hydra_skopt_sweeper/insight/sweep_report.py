"""``skopt-report SWEEP_DIR``: the best trials of a sweep as a table (with several objectives,
its Pareto front and one override line per solution to rerun it), and its plots redrawn. With
``metric_constraints``, the best feasible trials (the table adds a column per metric they read)
and how many broke them.

Runnable as ``python -m hydra_skopt_sweeper.insight.sweep_report SWEEP_DIR [--top N] [--plots-only]
[--no-plots] [--html]`` or as the console script ``skopt-report``. It reads only the sweep dir, so it
works on a finished sweep, on one still running, and on one that was killed (a torn last
journal line is skipped; no ``optimization_results.yaml`` is needed). ``--html`` also writes
the sweep's self-contained ``report.html`` (:mod:`.report_page`; its pictures drawn first
unless ``--no-plots``) and prints its path and ``file://`` URL.

Exit status: 0, or 2 with one line on stderr when the directory holds no ``trials.jsonl``.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from ..records.journal import Trial, format_params
from ..records.sweep_dir import JOURNAL, OBJECTIVE, REPORT, SPACE, SweepDir
from .importance import Importance, importance_of, with_model
from .pictures import draw_plots, picture_names
from .pictures.front import reference_origin
from .ranking import model_pick, override_line, rank_trials
from .report_page import write_page
from .surface import min_trials_for_objective
from .sweep_record import SweepRecord, direction_word, load_sweep

PROG = "skopt-report"


def format_report(record: SweepRecord, top: int = 10, importance: Optional[List[Importance]] = None) -> str:
    """The report's text; ``top``: the rows of the best-trials table (a front is shown whole);
    ``importance``: :func:`.importance.importance_of` of the sweep when already measured."""
    trials = record.trials
    if record.several:
        labels = ", ".join(record.objectives.labelled(i) for i in range(record.objectives.count))
        lines = [f"Sweep {record.sweep_dir} ({labels})"]
    else:
        lines = [f"Sweep {record.sweep_dir} ({record.objective_name}, {direction_word(record.maximize)})"]
    progress = f"{len(trials)} trial(s), {record.n_failed} failed"
    if record.n_pruned:
        progress += f", {record.n_pruned} pruned"
    if record.n_batches:
        progress += f", {record.n_batches} batch(es)"
    if record.n_calls is not None:
        if len(trials) >= record.n_calls:
            progress += f"; complete (n_calls={record.n_calls})"
        elif record.exhausted:
            progress += (f"; complete: the search space is exhausted after {len(trials)} of "
                         f"n_calls={record.n_calls} (every allowed point was tried)")
        elif record.budget_spent:
            progress += f"; complete: step_budget={record.step_budget} spent after {len(trials)} trial(s)"
        else:
            progress += (f"; {len(trials)} of n_calls={record.n_calls}: still running, or "
                         "stopped early (the same command resumes it)")
    lines.append(progress)
    if record.step_budget is not None:
        lines.append(f"Step budget: {record.spending.spent} of step_budget={record.step_budget} step(s) reported")
    constraints = record.constraints
    if constraints is not None:
        done = sum(1 for t in trials if t.ok)
        lines.append(f"Metric constraints {constraints.describe()}: {len(record.infeasible)} of {done} "
                     "completed trial(s) infeasible (broke them)")

    best = record.best()
    feasible = "" if constraints is None else " feasible"
    if record.several:
        lines.extend(_front_lines(record))
    elif best is None:
        lines.append("No successful trial yet." if constraints is None else "No feasible trial yet.")
    else:
        lines.append("")
        lines.append(f"Best{feasible}: trial #{best.number}, value {best.value!r}")
        lines.append(f"  overrides: {override_line(record, best.params)}")
        if best.job_dir:
            lines.append(f"  job dir: {best.job_dir}")
        lines.extend(recommendation_lines(record, best))

        ranked = rank_trials(record)[: max(0, top)]
        if ranked:
            lines.append("")
            of = len(record.finished) if constraints is None else len(rank_trials(record))
            lines.append(f"Top {len(ranked)} of {of}{feasible or ' successful'} trial(s):")
            metrics = constraints.names if constraints is not None else ()
            header = ["rank", "trial", "value", *metrics, "params", "job dir"]
            rows = [[str(rank), str(t.number), f"{t.value:.6g}", *[f"{(t.metrics or {})[m]:.6g}" for m in metrics],
                     format_params(t.params, " "), t.job_dir or ""]
                    for rank, t in enumerate(ranked, start=1)]
            lines.extend(_table(header, rows, right_aligned=set(range(3 + len(metrics)))))

    lines.extend(_importance_lines(record, importance))
    lines.extend(_pruned_lines(record))
    failed = [t for t in trials if t.failed]
    if failed:
        lines.append("")
        lines.append(f"Failed trial(s) ({len(failed)}; the last {min(5, len(failed))}):")
        for t in failed[-5:]:
            lines.append(f"  #{t.number}: {t.error_line[:160]}")
    return "\n".join(lines)


def _front_lines(record: SweepRecord) -> List[str]:
    """The Pareto front as a table (best first objective first), its hypervolume and reference
    point, and each solution's overrides."""
    front = record.front()
    solutions = front.solutions
    done = "completed" if record.constraints is None else "feasible"
    if not solutions:
        return [f"No {done} trial yet."]
    objectives = record.objectives
    reference = ", ".join(f"{v:.6g}" for v in front.reference_values or [])
    lines = ["", f"Pareto front: {len(solutions)} of {len(front.trials)} {done} trial(s); hypervolume "
                 f"{front.hypervolume:.6g} from the reference point ({reference}), {reference_origin(record)}"]
    solutions = sorted(solutions, key=lambda t: (objectives.losses(t.values)[0], t.number))
    header = ["trial"] + [objectives.labelled(i) for i in range(objectives.count)] + ["params", "job dir"]
    rows = [[str(t.number)] + [f"{v:.6g}" for v in t.values] + [format_params(t.params, " "), t.job_dir or ""]
            for t in solutions]
    lines.extend(_table(header, rows, right_aligned=set(range(objectives.count + 1))))
    lines.append("")
    lines.append("Each solution's overrides (add them to the app's command line to rerun it):")
    width = max(len(str(t.number)) for t in solutions) + 1
    lines.extend(f"  {'#' + str(t.number):<{width}} overrides: {override_line(record, t.params)}" for t in solutions)
    return lines


def _importance_lines(record: SweepRecord, found: Optional[List[Importance]] = None) -> List[str]:
    """Which parameters mattered (:func:`.importance.importance_of`, measured on the model
    refitted from the sweep dir unless ``found``): a table per objective, the largest total
    effect first."""
    try:
        found = importance_of(record) if found is None else found
    except Exception as error:  # the rest of the report stands without it
        return ["", f"Importance: not measured ({type(error).__name__}: {error})"]
    lines = []
    for importance in found:
        lines.append("")
        lines.append(f"Importance for {importance.objective}: the share of the model's variation over the "
                     f"search space each parameter explains, from {importance.n_trials} trial(s)")
        rows = [[p.name, f"{p.total:.3f} ± {p.total_sd:.3f}", f"{p.first:.3f} ± {p.first_sd:.3f}"]
                for p in importance.params]
        lines.extend(_table(["parameter", "total (with interactions)", "first-order (alone)"], rows,
                            right_aligned={1, 2}))
    return lines


def _pruned_lines(record: SweepRecord) -> List[str]:
    """The pruned trials, the step each stopped at, and the steps that saved against the
    longest completed trial (:func:`..records.curves.step_spending`)."""
    pruned = [t for t in record.trials if t.pruned]
    if not pruned:
        return []
    continued = record.continued
    stopped = ", ".join(f"#{t.number} at step {t.step}" + (f" (continued by #{continued[t.number]})"
                                                          if t.number in continued else "")
                        for t in pruned[:12]) + (", ..." if len(pruned) > 12 else "")
    lines = ["", f"Pruned trial(s) ({len(pruned)}): {stopped}"]
    spending = record.spending
    if spending.full_steps:
        lines.append(f"  about {spending.saved} step(s) saved against the longest completed trial's "
                     f"{spending.full_steps}; {spending.spent} step(s) run in all")
    return lines


def recommendation_lines(record: SweepRecord, best: Trial) -> List[str]:
    """The model's pick (``recommended_*`` in the results file), where the sweep wrote one."""
    pick = model_pick(record, best)
    if pick is None:
        return []
    if pick.is_best:
        return [f"  {pick.sentence}"]
    lines = ["", pick.sentence, f"  overrides: {override_line(record, pick.trial.params)}"]
    if pick.trial.job_dir:
        lines.append(f"  job dir: {pick.trial.job_dir}")
    return lines


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right_aligned=frozenset()) -> List[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        parts = [str(c).rjust(w) if i in right_aligned else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _plots_message(record: SweepRecord, written: dict) -> List[str]:
    """A line per picture drawn, in the order drawn; with one objective, why ``objective.png``
    is not drawn yet."""
    lines = [f"Wrote {path}" for path in written.values() if path]
    if record.several or written.get("objective"):
        return lines
    if record.space is None:
        lines.append(f"No {OBJECTIVE}: the sweep dir has no {SPACE}")
    elif record.space.params:
        need = min_trials_for_objective(len(record.space.params))
        lines.append(f"No {OBJECTIVE} yet: the GP needs {need} successful trials, "
                     f"there are {len(record.finished)}")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Show the best trials of a hydra-skopt-sweeper sweep (with several objectives, its "
                    "Pareto front) and the parameters' importance, and redraw its plots ("
                    f"{', '.join(picture_names(False))}; with several objectives "
                    f"{', '.join(picture_names(True))}).",
    )
    parser.add_argument("sweep_dir", help="the sweep dir (hydra.sweep.dir) holding trials.jsonl")
    parser.add_argument("--top", type=int, default=10, metavar="N",
                        help="trials in the table (10); a Pareto front is shown whole")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--plots-only", action="store_true", help="redraw the plots, print no table")
    group.add_argument("--no-plots", action="store_true", help="print the table, draw nothing")
    parser.add_argument("--html", action="store_true",
                        help=f"also write {REPORT}, one self-contained page of the sweep (pictures, importance, "
                             "every trial in a sortable table), and print its path")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = parser.parse_args(argv)

    sweep_dir = Path(args.sweep_dir)
    if not SweepDir(sweep_dir).journal.is_file():
        print(f"{PROG}: error: {sweep_dir} has no {JOURNAL} (not a skopt_gp sweep dir, or no "
              "batch has returned yet)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING,
                        format=f"{PROG}: %(levelname)s: %(message)s")

    record = load_sweep(sweep_dir)
    try:  # one fit of the model for the table, the pictures and the page
        surface, importance = with_model(record)
    except Exception:  # the text says so; the pictures and the page go without
        surface, importance = None, None
    if not args.plots_only and not args.quiet:
        print(format_report(record, top=args.top, importance=importance))
    if not args.no_plots:
        written = draw_plots(record, importance=importance or [], surface=surface)
        if not args.quiet:
            if not args.plots_only:
                print()
            print("\n".join(_plots_message(record, written)))
    if args.html:
        page = write_page(record, importance=importance or [], live=False)
        if not args.quiet:
            print(f"Wrote {page} ({page.resolve().as_uri()})")
    return 0


def console_main() -> int:
    """The ``skopt-report`` console script: :func:`main`, quiet when its reader goes away
    (``skopt-report DIR | head -2``)."""
    try:
        return main()
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(console_main())
