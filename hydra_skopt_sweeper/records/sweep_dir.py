"""The sweep dir's layout: every file a sweep, its jobs and its drawings share, and how each
whole file is written.

A sweep dir (``hydra.sweep.dir``) is the one store that the sweeper, every launcher's jobs
(joblib, Ray and submitit alike), the plot-drawing process and ``skopt-report`` can all reach,
so it is also their only interface. Its layout::

    trials.jsonl               the journal: one record per returned trial (journal)
    optimization_results.yaml  best and recommended trials, counts (journal)
    trials.csv                 one row per trial (journal)
    search_space.json          the space, direction and metric the journal belongs to (journal)
    multirun.yaml              the composed config, saved by the shim (plots read its labels)
    convergence.png, objective.png, slices.png   the pictures of one objective (plots)
    pareto.png, hypervolume.png                  the pictures of several objectives (plots)
    importance.png, parallel.png, curves.png     the pictures of either (plots)
    report.html                one self-contained page of the sweep (report_page)
    .outcomes/<n>.json         what job n returned, left by the job itself (objective)
    .outcomes/<n>.launched     job number n is taken, with the params it was launched with:
                               reserved before its launch (scheduler)
    .curves/<n>.jsonl          job n's learning curve, appended by report() (pruning)
    .forecasts/<n>.json        job n's stop plan for the forecast rule, and the paused trial it
                               continues, if any, by the sweeper (forecasts)
    .plots.log                 the drawing process's errors (plot_refresher)
    .sweep.lock                held by the one sweeper running on this dir (lock)
    <n>/                       job n's own dir (Hydra's hydra.sweep.subdir); paused.ckpt there:
                               the state a paused trial saved, to be continued from (pruning)

Whole files are replaced atomically (:func:`atomic_write`), so a reader, or a kill, never
sees half of one; append-only files are appended whole lines at a time
(:func:`.journal.append_lines`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

JOURNAL = "trials.jsonl"
RESULTS = "optimization_results.yaml"
TABLE = "trials.csv"
SPACE = "search_space.json"
MULTIRUN = "multirun.yaml"
CONVERGENCE = "convergence.png"
OBJECTIVE = "objective.png"
CURVES = "curves.png"
PARETO = "pareto.png"
HYPERVOLUME = "hypervolume.png"
IMPORTANCE = "importance.png"
PARALLEL = "parallel.png"
SLICES = "slices.png"
REPORT = "report.html"
OUTCOMES_DIR = ".outcomes"
CURVES_DIR = ".curves"
FORECASTS_DIR = ".forecasts"
PLOTS_LOG = ".plots.log"
LOCK = ".sweep.lock"
OUTCOME_SUFFIX = ".json"
RESERVED_SUFFIX = ".launched"
PAUSED_CHECKPOINT = "paused.ckpt"


@dataclass(frozen=True)
class SweepDir:
    """The paths of one sweep dir."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def journal(self) -> Path:
        return self.root / JOURNAL

    @property
    def results(self) -> Path:
        return self.root / RESULTS

    @property
    def table(self) -> Path:
        return self.root / TABLE

    @property
    def space(self) -> Path:
        return self.root / SPACE

    @property
    def multirun(self) -> Path:
        return self.root / MULTIRUN

    @property
    def outcomes(self) -> Path:
        return self.root / OUTCOMES_DIR

    @property
    def curves(self) -> Path:
        return self.root / CURVES_DIR

    @property
    def plots_log(self) -> Path:
        return self.root / PLOTS_LOG

    @property
    def lock(self) -> Path:
        return self.root / LOCK

    def curve(self, number: int) -> Path:
        """Job ``number``'s learning curve."""
        return self.curves / f"{number}.jsonl"

    def forecast(self, number: int) -> Path:
        """Job ``number``'s stop plan (the forecast rule's)."""
        return self.root / FORECASTS_DIR / f"{number}.json"


def outcome_file(outcomes_dir: Path, number: int) -> Path:
    """Where job ``number`` leaves what it returned, in a sweep dir's ``.outcomes/``."""
    return Path(outcomes_dir) / f"{number}{OUTCOME_SUFFIX}"


def reservation_file(outcomes_dir: Path, number: int) -> Path:
    """The marker in ``.outcomes/`` that job number ``number`` is taken."""
    return Path(outcomes_dir) / f"{number}{RESERVED_SUFFIX}"


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Replace ``path`` by what ``write(temporary path)`` writes, in one ``os.replace``: a reader
    sees the old file or the new one, never a part. The temporary name carries the process id,
    so two processes writing the same file never share it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """:func:`atomic_write` of a text, in UTF-8."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
