"""The best trials and the model's pick, as both reports show them.

``skopt-report``'s text (:mod:`.sweep_report`) and ``report.html`` (:mod:`.report_page`) rank
the trials, write a trial's params as overrides to paste on a command line, and say what the
model recommends, from the same structured answers here: neither reads the other's output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional

from ..problem.search_space import format_value
from ..records.journal import Trial
from .sweep_record import SweepRecord


def rank_trials(record: SweepRecord) -> List[Trial]:
    """Successful (feasible) trials, best first (ties: the earlier trial first)."""
    sign = -1.0 if record.maximize else 1.0
    return sorted((t for t in record.finished if record.feasible(t)), key=lambda t: (sign * t.value, t.number))


def override_line(record: SweepRecord, params: Any) -> str:
    """A trial's params as Hydra overrides, every digit kept (to paste on a command line)."""
    by_name = {p.name: p for p in record.space.params} if record.space is not None else {}
    parts = []
    for name, value in params.items():
        try:
            parts.append(by_name[name].override(value) if name in by_name
                         else f"{name}={format_value(value)}")
        except (TypeError, ValueError):
            parts.append(f"{name}={value!r}")
    return " ".join(parts)


@dataclass(frozen=True)
class ModelPick:
    """The model's pick among the tried points (``recommended_*`` in the results file).

    ``is_best``: it is the best trial too; ``other_sign``: no trial's value has the predicted
    value's sign, so the model is stretched by extreme values there.
    """

    trial: Trial
    predicted: float
    is_best: bool
    other_sign: bool

    @property
    def sentence(self) -> str:
        """What the pick is, in one sentence (the reports add its overrides and job dir)."""
        caution = ("; no trial's value has its sign, so the model is unsure there: trust the "
                   "observed values" if self.other_sign else "")
        if self.is_best:
            return f"also the model's recommendation (predicted value {self.predicted:.6g}{caution})"
        return (f"Recommended: trial #{self.trial.number}, predicted value {self.predicted:.6g} (observed "
                f"{self.trial.value!r}): the best the model expects among the tried points; on a noisy "
                f"objective it is less often a lucky draw than the best{caution}")


def model_pick(record: SweepRecord, best: Trial) -> Optional[ModelPick]:
    """The model's pick, where the sweep wrote one that the journal read holds."""
    number, predicted = record.results.get("recommended_trial"), record.results.get("recommended_value")
    if isinstance(number, bool) or not isinstance(number, int) or not _is_number(predicted):
        return None  # none written, or a hand-edited results file
    pick = best if number == best.number else next((t for t in record.trials if t.number == number), None)
    if pick is None:  # the results file is from a later state than the journal read
        return None
    observed = [t.value for t in record.finished]
    other_sign = predicted < 0 <= min(observed) or predicted > 0 >= max(observed)
    return ModelPick(pick, float(predicted), pick is best, bool(other_sign))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
