"""Trial records: the append-only journal and the results file derived from it.

``trials.jsonl`` holds one JSON object per trial::

    {"number", "params", "value", "status": "ok"|"failed"|"pruned", "error", "duration_s",
     "job_dir", "batch", "step"}

(``value`` of a pruned trial is its best reported value before it was stopped; ``step`` is the
last step its curve reached, for every trial that reported one.) A sweep of several objectives
adds ``"values"``, the list of a trial's values in the objectives' order, and its ``value`` is
null; a sweep of one objective writes no ``values`` key. A sweep with ``metric_constraints``
adds ``"metrics"``, the metrics they read, by key. A trial the forecast rule stopped adds
``"forecast"``: the value the model of the curves forecast for its end when it stopped.

Lines are appended, flushed and fsynced as soon as a trial (or a batch) returns, in the order
they return, and are never rewritten, so a crash or a kill loses at most the trials running; a line torn by a kill is skipped
with a warning when the journal is read back. Nothing is pickled.

``optimization_results.yaml`` (the keys the Optuna sweeper writes, plus counts) and
``trials.csv`` (one row per trial, one column per parameter, for pandas and spreadsheets) are
rewritten atomically from the records after every trial (every batch in batch scheduling).
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import yaml

from .sweep_dir import SweepDir, atomic_write_text

log = logging.getLogger(__name__)

TABLE_COLUMNS = ("number", "batch", "status", "value", "step", "duration_s", "job_dir", "error")
OK, FAILED, PRUNED = "ok", "failed", "pruned"


@dataclass
class Trial:
    """One launched trial. ``value`` is what the trial returned (not sign-flipped); with
    several objectives, ``values`` is, and ``value`` is None."""

    number: int
    params: Dict[str, Any]
    value: Optional[float]
    status: str
    error: Optional[str] = None
    duration_s: Optional[float] = None
    job_dir: Optional[str] = None
    batch: Optional[int] = None
    step: Optional[int] = None
    values: Optional[List[float]] = None
    metrics: Optional[Dict[str, float]] = None
    # a trial the forecast rule stopped: the value the model forecast for its end, when it stopped
    forecast: Optional[float] = None
    # a paused trial: the checkpoint the app saved when it stopped, from which it can be continued
    checkpoint: Optional[str] = None
    # a continuation: the number of the paused trial it continues (same params, its curve goes on)
    continues: Optional[int] = None

    @property
    def ok(self) -> bool:
        """Completed with a usable value."""
        return self.status == OK

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def pruned(self) -> bool:
        return self.status == PRUNED

    @property
    def error_line(self) -> str:
        """The first line of the error, for one-line summaries."""
        text = (self.error or "").strip()
        return text.splitlines()[0] if text else "no error recorded"

    def to_json(self) -> str:
        record = asdict(self)
        # absent unless the sweep has them: lines as they always were
        for key in ("values", "metrics", "forecast", "checkpoint", "continues"):
            if record[key] is None:
                del record[key]
        return json.dumps(record, allow_nan=False, sort_keys=False)

    @classmethod
    def from_dict(cls, record: Dict[str, Any]) -> "Trial":
        """A record read back; ``ValueError`` (or ``KeyError``/``TypeError``) when a field is
        missing, of another type than the journal writes, or not finite."""
        if not isinstance(record, dict):
            raise TypeError(f"a record must be a JSON object, not {type(record).__name__}")
        number = _field(record, "number", int, required=True)
        if number < 0:
            raise ValueError(f"number={number} is negative")
        params = record["params"]
        if not isinstance(params, dict):
            raise TypeError(f"params={params!r} is not a JSON object")
        value = _field(record, "value", (int, float))
        values = record.get("values")
        if values is not None:
            if not isinstance(values, list) or not values:
                raise TypeError(f"values={values!r} is not a list of numbers")
            values = [float(_field({"values": v}, "values", (int, float), required=True)) for v in values]
        metrics = record.get("metrics")
        if metrics is not None:
            if not isinstance(metrics, dict):
                raise TypeError(f"metrics={metrics!r} is not a JSON object")
            metrics = {str(k): float(_field(metrics, k, (int, float), required=True)) for k in metrics}
        return cls(
            number=number,
            params=dict(params),
            value=None if value is None else float(value),
            status=_field(record, "status", str, required=True),
            error=_field(record, "error", str),
            duration_s=_field(record, "duration_s", (int, float)),
            job_dir=_field(record, "job_dir", str),
            batch=_field(record, "batch", int),
            step=_field(record, "step", int),
            values=values,
            metrics=metrics,
            forecast=_field(record, "forecast", (int, float)),
            checkpoint=_field(record, "checkpoint", str),
            continues=_field(record, "continues", int),
        )


def _field(record: Mapping[str, Any], key: str, types: Any, required: bool = False) -> Any:
    """``record[key]``, of one of ``types`` (never a bool for a number, never inf or nan), or None."""
    value = record[key] if required else record.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, types):
        raise TypeError(f"{key}={value!r} is not of the journal's type")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key}={value!r} is not finite")
    return value


class Journal:
    """The append-only ``trials.jsonl`` of one sweep directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.is_file() and self.path.stat().st_size > 0

    def read(self) -> List[Trial]:
        return read_trials(self.path)

    def append(self, trials: Sequence[Trial]) -> None:
        if not trials:
            return
        append_lines(self.path, "".join(trial.to_json() + "\n" for trial in trials))


def append_lines(path: Path, text: str) -> None:
    """Append whole lines to a file, flushed and fsynced; a line a kill tore at the end is
    closed first, so the new lines are whole (the journal and the learning curves)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
        handle.write(text.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


# unreadable lines warned about one by one; the rest are counted in one line
_WARNED_LINES = 10


def read_trials(path: Path) -> List[Trial]:
    """Every whole record of a journal, one per trial number.

    A line that is not UTF-8 JSON, or whose record is not of the journal's form (a negative
    number, a non-finite value, a field of another type), is skipped with a warning naming its
    line: a kill during a write leaves one torn line, whose trial will be run again. A second
    record of a trial number is skipped too: the first one stands.
    """
    path = Path(path)
    if not path.is_file():
        return []
    trials: List[Trial] = []
    lines_of: Dict[int, int] = {}  # trial number -> the line that recorded it
    skipped = 0
    with open(path, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                trial = Trial.from_dict(json.loads(raw.decode("utf-8"), parse_constant=_not_finite,
                                                   parse_float=_finite_float))
            except (ValueError, KeyError, TypeError, RecursionError) as error:
                skipped += 1
                if skipped <= _WARNED_LINES:
                    log.warning("%s:%d: skipping an unreadable record (%s: %s); a kill during a write "
                                "leaves one torn line, the trial it held will be run again",
                                path, line_number, type(error).__name__, str(error)[:200])
                continue
            if trial.number in lines_of:
                skipped += 1
                if skipped <= _WARNED_LINES:
                    log.warning("%s:%d: skipping a second record of trial #%d; the first one, on line "
                                "%d, stands", path, line_number, trial.number, lines_of[trial.number])
                continue
            lines_of[trial.number] = line_number
            trials.append(trial)
    if skipped > _WARNED_LINES:
        log.warning("%s: %d lines skipped in all (the first %d are named above); is it a journal "
                    "(trials.jsonl)?", path, skipped, _WARNED_LINES)
    return trials


def _not_finite(constant: str) -> float:
    raise ValueError(f"{constant} is not finite")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not finite")
    return value


def best_trial(trials: Iterable[Trial], maximize: bool,
               feasible: Optional[Callable[[Trial], bool]] = None) -> Optional[Trial]:
    """The completed trial with the best value (among the ``feasible`` ones, when given)."""
    finished = [t for t in trials if t.ok and t.value is not None and math.isfinite(t.value)
                and (feasible is None or feasible(t))]
    if not finished:
        return None
    pick = max if maximize else min
    return pick(finished, key=lambda t: t.value)


Recommendation = Tuple[Trial, float]  # a trial and the model's predicted value there


def results_summary(
    trials: Sequence[Trial], maximize: bool, recommended: Optional[Recommendation] = None,
    name: str = "skopt_gp", feasible: Optional[Callable[[Trial], bool]] = None,
) -> Dict[str, Any]:
    """The observed best (``best_*``, the keys the Optuna sweeper writes) and, when the model
    gave one, the recommended trial (``recommended_*``: the best predicted value among the
    successful trials, which a lucky draw of a noisy objective does not fool). With metric
    constraints (``feasible``), both among the feasible trials, and ``n_infeasible``."""
    best = best_trial(trials, maximize, feasible)
    pick, predicted = recommended if recommended is not None else (None, None)
    return {
        "name": name,
        "best_params": dict(best.params) if best else {},
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "best_job_dir": best.job_dir if best else None,
        "recommended_params": dict(pick.params) if pick else {},
        "recommended_value": predicted,
        "recommended_trial": pick.number if pick else None,
        "recommended_job_dir": pick.job_dir if pick else None,
        "maximize": maximize,
        **trial_counts(trials, feasible),
    }


def trial_counts(trials: Sequence[Trial], feasible: Optional[Callable[[Trial], bool]] = None) -> Dict[str, int]:
    """The results file's counts: trials, failed, pruned, and with metric constraints
    (``feasible``) the completed trials that broke them."""
    counts = {"n_trials": len(trials), "n_failed": sum(1 for t in trials if t.failed),
              "n_pruned": sum(1 for t in trials if t.pruned)}
    if feasible is not None:
        counts["n_infeasible"] = sum(1 for t in trials if t.ok and not feasible(t))
    return counts


def write_results(
    sweep_dir: Path, trials: Sequence[Trial], maximize: bool, recommended: Optional[Recommendation] = None,
    summary: Optional[Dict[str, Any]] = None, objective_columns: Sequence[str] = (),
    on_front: Optional[Set[int]] = None, feasible: Optional[Callable[[Trial], bool]] = None,
    metric_columns: Sequence[str] = (),
) -> Dict[str, Any]:
    """Rewrite ``optimization_results.yaml`` and ``trials.csv``; returns the summary. A sweep
    of several objectives passes its own ``summary``; it and one with metric constraints
    (``feasible``) the table's extra columns (see :func:`trials_table`)."""
    if summary is None:
        summary = results_summary(trials, maximize, recommended, feasible=feasible)
    files = SweepDir(sweep_dir)
    atomic_write_text(files.results, yaml.safe_dump(summary, sort_keys=False))
    atomic_write_text(files.table, trials_table(trials, objective_columns, on_front, metric_columns, feasible))
    return summary


def format_params(params: Mapping[str, Any], separator: str = ", ") -> str:
    """Params for a log line or a table cell: floats to 6 significant digits."""
    return separator.join(f"{k}={_format_value(v)}" for k, v in params.items()) or "(no params)"


def format_values(values: Sequence[float]) -> str:
    """Several objectives' values for a log line: ``(0.134851, 1660)``."""
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


def _format_value(value: Any) -> str:
    """A value as an override writes it, so that ``choice(0, 0.0)`` or ``choice(1, true)``
    shows which option a trial had: a float keeps its point, a bool is ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text + ".0" if text.lstrip("-").isdigit() else text
    return str(value)


def trials_table(trials: Sequence[Trial], objective_columns: Sequence[str] = (),
                 on_front: Optional[Set[int]] = None, metric_columns: Sequence[str] = (),
                 feasible: Optional[Callable[[Trial], bool]] = None) -> str:
    """CSV text: the record's fields, then one column per parameter (``param:`` on a clash);
    a row per trial in the order of their numbers, whatever order they returned in. With
    several objectives, ``objective_columns`` name a column per objective (after ``value``),
    holding each trial's values, and ``on_front`` (trial numbers) fills an ``on_front`` column.
    With metric constraints, a column per metric they read (``metric_columns``: the keys;
    ``metric:`` first on a clash), then a ``feasible`` column."""
    trials = sorted(trials, key=lambda t: t.number)
    names: Dict[str, None] = {}
    for trial in trials:
        names.update(dict.fromkeys(trial.params))
    record_columns = list(TABLE_COLUMNS)
    if objective_columns:
        at = record_columns.index("value") + 1
        record_columns[at:at] = [*objective_columns, "on_front"]
    metric_headers = {key: (f"metric:{key}" if key in record_columns or key in names or key == "feasible" else key)
                      for key in metric_columns}
    if feasible is not None:
        at = record_columns.index("step")
        record_columns[at:at] = [*metric_headers.values(), "feasible"]
    columns = {n: (f"param:{n}" if n in record_columns else n) for n in names}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*record_columns, *columns.values()])
    for trial in trials:
        record = asdict(trial)
        values = trial.values or []
        for index, column in enumerate(objective_columns):
            record[column] = values[index] if index < len(values) else None
        if objective_columns:
            record["on_front"] = "true" if on_front and trial.number in on_front else "false"
        if feasible is not None:
            for key, header in metric_headers.items():
                record[header] = (trial.metrics or {}).get(key)
            record["feasible"] = ("true" if feasible(trial) else "false") if trial.metrics is not None else ""
        writer.writerow([_cell(record[c]) for c in record_columns]
                        + [_cell(trial.params.get(n)) for n in columns])
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value
