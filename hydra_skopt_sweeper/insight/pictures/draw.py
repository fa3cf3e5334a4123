"""Pictures of a sweep, drawn from its directory alone: which ones, and drawing them all.

:func:`draw_plots` draws every picture (:func:`picture_names`) from what the loop writes
(``trials.jsonl``, ``search_space.json``, ``.curves/``, and for labels and the model's
settings ``multirun.yaml``), each from the module of what it pictures: the sweep's progress
(:mod:`.progress`), the front of several objectives (:mod:`.front`), the model
(:mod:`.surrogate`) and the parameters (:mod:`.parameters`). :mod:`..plot_refresher` redraws
them while a sweep runs; ``skopt-report`` at any time. The same pictures come from a finished
sweep, a running one, or one that was killed. Nothing here imports matplotlib or skopt at
import time, and nothing reads the loop.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .front import draw_pareto, hypervolume_so_far
from .parameters import draw_importance, draw_parallel, draw_slices
from .progress import draw_convergence, draw_curves, draw_hypervolume
from .surrogate import draw_objective
from ..importance import Importance, importance_of, with_model
from ..surface import Surface, fit_surface
from ...records.sweep_dir import (
    CONVERGENCE, CURVES, HYPERVOLUME, IMPORTANCE, OBJECTIVE, PARALLEL, PARETO, SLICES,
)
from ..sweep_record import SweepRecord, load_sweep


def draw_plots(sweep: "SweepRecord | Path", out_dir: Optional[Path] = None, *,
               importance: Optional[List[Importance]] = None, surface: Optional[Surface] = None
               ) -> Dict[str, Optional[Path]]:
    """Draw a sweep's pictures (:func:`picture_names`): with one objective ``convergence.png``,
    ``objective.png``, ``slices.png``; with several ``pareto.png`` and ``hypervolume.png``;
    with either ``importance.png``, ``parallel.png`` and ``curves.png``.

    ``importance``: :func:`..importance.importance_of` of the sweep, when already computed;
    None: computed here, from the model ``objective.png`` draws (fitted once for both, by
    :func:`..importance.with_model`).
    ``surface``: that model (one objective), when already fitted
    (:func:`..importance.with_model` gives both).

    Returns the path of each picture by name (``"convergence"``, ``"objective"``, ``"slices"``;
    ``"pareto"``, ``"hypervolume"``; ``"importance"``, ``"parallel"``, ``"curves"``), None for
    one not drawn yet (too few trials, no importance, no learning curve). Files are written
    atomically (a temporary file, then ``os.replace``); warnings are silenced and no figure is
    left open.
    """
    from matplotlib import rc_context

    record = sweep if isinstance(sweep, SweepRecord) else load_sweep(Path(sweep))
    out_dir = Path(out_dir) if out_dir is not None else record.sweep_dir
    has_params = record.space is not None and bool(record.space.params)
    # every text comes from the sweep (names, options, values): a "$" in it is a dollar sign,
    # never the start of a formula
    with warnings.catch_warnings(), rc_context({"text.parse_math": False}):
        warnings.simplefilter("ignore")
        if importance is None:
            surface, importance = with_model(record) if surface is None else (
                surface, importance_of(record, surface=surface))
        elif surface is None and has_params and not record.several:
            surface = fit_surface(record)
        written: Dict[str, Optional[Path]]
        if record.several:
            front = record.front()
            series = hypervolume_so_far(front)
            written = {"pareto": draw_pareto(record, front, out_dir / PARETO, series),
                       "hypervolume": draw_hypervolume(record, front, out_dir / HYPERVOLUME, series)}
        else:
            written = {"convergence": draw_convergence(record, out_dir / CONVERGENCE),
                       "objective": draw_objective(record, out_dir / OBJECTIVE, surface=surface,
                                                   importance=importance) if surface is not None else None,
                       "slices": draw_slices(record, out_dir / SLICES, importance)}
        written["curves"] = draw_curves(record, out_dir / CURVES)
        written["importance"] = draw_importance(importance, out_dir / IMPORTANCE)
        written["parallel"] = draw_parallel(record, out_dir / PARALLEL, importance)
    return written


def picture_names(several: bool) -> Tuple[str, ...]:
    """The pictures :func:`draw_plots` may write for a sweep of one objective or several."""
    shared = (IMPORTANCE, PARALLEL, CURVES)
    return (PARETO, HYPERVOLUME) + shared if several else (CONVERGENCE, OBJECTIVE, SLICES) + shared
