"""The sweep's Pareto front of trials, with several objectives: which completed trials no
other beats on every objective (the *solutions*, the Optuna sweeper's word), and the
hypervolume they dominate.

The front is taken over the completed trials' values as losses (:meth:`..problem.objectives.Objectives.losses`);
the hypervolume is measured from ``reference_point`` when the sweep sets it, else from the
point :func:`..search.pareto.reference_point` infers from every completed trial (so it may move as
trials arrive; set ``reference_point`` to compare hypervolumes across sweeps). The results
file, the table, the log, the report and the pictures all read the front from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..problem.objectives import Objectives, to_loss
from ..records.journal import Trial
from ..search.pareto import hypervolume, non_dominated, reference_point


@dataclass(frozen=True)
class Front:
    """The completed trials of a sweep of several objectives, and which of them are on the
    front. ``losses``: one row per trial of ``trials``; ``reference``: in loss units."""

    objectives: Objectives
    trials: List[Trial]
    losses: np.ndarray
    on_front: np.ndarray
    reference: Optional[np.ndarray]

    @classmethod
    def of(cls, trials: Sequence[Trial], objectives: Objectives,
           reference: Optional[Sequence[float]] = None) -> "Front":
        """The front of ``trials``' completed ones; ``reference`` in the objectives' own units
        and directions (``hydra.sweeper.reference_point``), or None to infer it."""
        done = [t for t in trials if t.ok and t.values is not None and len(t.values) == objectives.count]
        losses = np.array([objectives.losses(t.values) for t in done], dtype=float).reshape(-1, objectives.count)
        on_front = non_dominated(losses) if len(done) else np.zeros(0, dtype=bool)
        if reference is not None:
            ref: Optional[np.ndarray] = np.array(objectives.losses(reference), dtype=float)
        else:
            ref = reference_point(losses) if len(done) else None
        return cls(objectives, done, losses, on_front, ref)

    @property
    def solutions(self) -> List[Trial]:
        """The trials on the front, in the order of their numbers."""
        return sorted((t for t, on in zip(self.trials, self.on_front) if on), key=lambda t: t.number)

    def contains(self, trial: Trial) -> bool:
        return any(t.number == trial.number for t in self.solutions)

    @property
    def hypervolume(self) -> float:
        if self.reference is None or not len(self.trials):
            return 0.0
        return hypervolume(self.losses[self.on_front], self.reference)

    @property
    def reference_values(self) -> Optional[List[float]]:
        """The reference point in the objectives' own units and directions."""
        if self.reference is None:
            return None
        return [to_loss(float(v), m) for v, m in zip(self.reference, self.objectives.maximize)]

    def summary(self) -> Dict[str, Any]:
        """The results file's keys for several objectives."""
        return {
            "solutions": [{"number": t.number, "params": dict(t.params), "values": list(t.values or []),
                           "job_dir": t.job_dir} for t in self.solutions],
            "hypervolume": self.hypervolume,
            "reference_point": self.reference_values,
        }

    def describe(self) -> str:
        """One line for the log: the front's size and hypervolume."""
        return f"{len(self.solutions)} trial(s) on the front, hypervolume {self.hypervolume:.6g}"
