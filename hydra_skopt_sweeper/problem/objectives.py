"""What a sweep optimises, and a trial's return read as its value, or values.

:class:`Objectives` is what ``hydra.sweeper.monitor``, ``maximize`` and ``metric_constraints``
declare: one objective or several (a Pareto front), each with its direction, and the metrics
the sweep records. A trial may return a float or int, a numpy scalar, a 0-d tensor (anything
``float()`` accepts: torch is never imported here), or a mapping such as Lightning's
``trainer.callback_metrics``, read through ``monitor``. With several objectives it returns a
sequence of numbers in their order (the Optuna sweeper's contract) or a mapping holding every
monitored key. Anything else, or a value that is not finite, is a failed trial:
:class:`TrialValueError` says why. Read in the trial's process (:mod:`..trial.task`) and in the
sweeper's alike.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..errors import SweeperConfigError
from .metrics import MetricConstraints


class TrialValueError(ValueError):
    """The trial ran but its return value cannot be used as an objective."""


@dataclass(frozen=True)
class Objectives:
    """What a sweep optimises: one objective, or several (a Pareto front).

    ``names``: the ``monitor`` key of each objective, or a single None (the value the task
    returns), or one None per objective (read by position from a returned sequence);
    ``maximize``: each objective's direction; ``metrics``: other keys of the returned mapping
    the sweep records (those its ``metric_constraints`` read).
    """

    names: Tuple[Optional[str], ...] = (None,)
    maximize: Tuple[bool, ...] = (False,)
    # the metric keys ``metric_constraints`` read from the returned mapping, recorded too
    metrics: Tuple[str, ...] = ()

    @classmethod
    def of_settings(cls, settings: Any, parameters: Sequence[str] = ()) -> Tuple["Objectives", MetricConstraints]:
        """The objectives ``hydra.sweeper`` declares, recording the metrics its
        ``metric_constraints`` read, and those constraints compiled (a constraint over one of
        ``parameters`` is refused)."""
        constraints = MetricConstraints(list(settings.metric_constraints or []), parameters)
        objectives = cls.of(settings.monitor, settings.maximize)
        return dataclasses.replace(objectives, metrics=constraints.names), constraints

    @classmethod
    def of(cls, monitor: Any = None, maximize: Any = None) -> "Objectives":
        """The objectives ``hydra.sweeper.monitor`` and ``hydra.sweeper.maximize`` declare:
        a key or a list of keys, a direction or a list of directions (null: minimise every
        one). A list of one is the single objective.

        Raises
        ------
        SweeperConfigError
            An entry of the wrong type, or lists of different lengths.
        """
        names = _entries("monitor", monitor, str, "a key of the mapping the task returns")
        directions = _entries("maximize", maximize, bool, "true or false")
        if names is None and directions is None:
            return cls()
        if names is not None and directions is not None and len(names) != len(directions):
            raise SweeperConfigError(
                f"hydra.sweeper.maximize={_listed(maximize)}: must have one entry per monitored key "
                f"(hydra.sweeper.monitor={_listed(monitor)} has {len(names)}); give both lists the same length")
        count = len(names if names is not None else directions)  # type: ignore[arg-type]
        if names is None:
            names = [None] * count
        if directions is None:
            directions = [False] * count
        return cls(tuple(names), tuple(directions))

    @property
    def several(self) -> bool:
        return len(self.maximize) > 1

    @property
    def count(self) -> int:
        return len(self.maximize)

    @property
    def monitor(self) -> Any:
        """``monitor`` as the space file keeps it: the key, or the list of keys (None when the
        values are read by position)."""
        if not self.several or all(name is None for name in self.names):
            return self.names[0]
        return list(self.names)

    @property
    def direction(self) -> Any:
        """``maximize`` as the space file keeps it: a bool, or a list of them."""
        return self.maximize[0] if not self.several else list(self.maximize)

    def label(self, index: int) -> str:
        """How the log and the pictures name objective ``index``."""
        name = self.names[index]
        return name if name is not None else (f"objective {index}" if self.several else "value")

    def labelled(self, index: int) -> str:
        """Objective ``index`` with its direction, as the log, an axis or a column names it."""
        return f"{self.label(index)} ({'max' if self.maximize[index] else 'min'})"

    def read(self, returned: Any) -> Union[float, List[float]]:
        """The value (one objective) or the values (several) a trial returned, not yet
        sign-flipped; raises :class:`TrialValueError`."""
        if not self.several:
            return read_value(returned, self.names[0])
        return read_values(returned, self)

    def measure(self, returned: Any) -> Optional[Dict[str, float]]:
        """The recorded metrics a trial returned (None when the sweep records none); raises
        :class:`TrialValueError` when one is missing or not a finite number."""
        if not self.metrics:
            return None
        if not isinstance(returned, Mapping):
            raise TrialValueError(
                f"hydra.sweeper.metric_constraints read {', '.join(map(repr, self.metrics))} from the "
                f"mapping a trial returns; this one returned {type(returned).__name__}: return a mapping "
                "(e.g. Lightning's trainer.callback_metrics) and set hydra.sweeper.monitor")
        measured = {}
        for name in self.metrics:
            try:
                measured[name] = read_value(_lookup(returned, name, "metric"))
            except TrialValueError as error:
                raise TrialValueError(f"metric_constraints: {error}") from None
        return measured

    def losses(self, values: Sequence[float]) -> List[float]:
        """Several objectives' values as the losses the optimiser minimises."""
        return [to_loss(value, maximize) for value, maximize in zip(values, self.maximize)]


def _entries(field: str, value: Any, kind: type, allowed: str) -> Optional[List[Any]]:
    """A setting that is one entry or a list of them, as a list (None when unset)."""
    if value is None:
        return None
    entries = list(value) if isinstance(value, (list, tuple)) else [value]
    if not entries:
        raise SweeperConfigError(f"hydra.sweeper.{field}=[]: must be {allowed}, or a list of them "
                                 "(one per objective); leave it out for the defaults")
    for entry in entries:
        if not isinstance(entry, kind):
            raise SweeperConfigError(f"hydra.sweeper.{field}={_listed(value)}: each entry must be "
                                     f"{allowed}, not {entry!r}")
    return entries


def _listed(value: Any) -> str:
    return repr(list(value)) if isinstance(value, (list, tuple)) else repr(value)


def read_value(returned: Any, monitor: Optional[str] = None) -> float:
    """The objective value a trial returned, as a finite float (not yet sign-flipped).

    Parameters
    ----------
    returned : object
        The task function's return value.
    monitor : str, optional
        Key to read when ``returned`` is a mapping; dotted keys (``val.loss``) also walk
        nested mappings when the flat key is absent.

    Raises
    ------
    TrialValueError
        When there is no value, the key is missing, or the value is not a finite number.
    """
    if returned is None:
        raise TrialValueError("the task function returned None; return the metric to optimise")
    value = returned
    if isinstance(returned, Mapping):
        if monitor is None:
            raise TrialValueError(
                f"the task function returned a mapping with keys {sorted(map(str, returned))}; "
                "set hydra.sweeper.monitor to the key to optimise"
            )
        value = _lookup(returned, monitor)
    if isinstance(value, (str, bytes, bool)):
        raise TrialValueError(f"the returned value {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise TrialValueError(
            f"cannot read a number from the returned {type(value).__name__}: {error}"
        ) from None
    if not math.isfinite(number):
        raise TrialValueError(f"the returned value is {number}, not a finite number")
    return number


def read_values(returned: Any, objectives: Objectives) -> List[float]:
    """Several objectives' values a trial returned, in their order (not yet sign-flipped): a
    sequence of numbers, or a mapping read through each objective's ``monitor`` key.

    Raises
    ------
    TrialValueError
        The wrong number of values, a missing key, or a value that is not a finite number.
    """
    count = objectives.count
    if returned is None:
        raise TrialValueError(f"the task function returned None; return the {count} objectives' values")
    if isinstance(returned, Mapping):
        if any(name is None for name in objectives.names):
            raise TrialValueError(
                f"the task function returned a mapping with keys {sorted(map(str, returned))}; "
                f"set hydra.sweeper.monitor to the list of the {count} keys to optimise")
        items = [_lookup(returned, name) for name in objectives.names]  # type: ignore[arg-type]
    elif isinstance(returned, (str, bytes)) or not isinstance(returned, Sequence) and not _is_array(returned):
        raise TrialValueError(
            f"the task function returned {type(returned).__name__} {returned!r:.80}; with {count} "
            f"objectives it returns a list or tuple of {count} numbers (or a mapping and "
            "hydra.sweeper.monitor names the keys)")
    else:
        items = list(returned)
        if len(items) != count:
            raise TrialValueError(
                f"the task function returned {len(items)} value(s), but the sweep has {count} "
                f"objectives ({', '.join(objectives.label(i) for i in range(count))}); return "
                f"one value per objective, in that order")
    values = []
    for index, item in enumerate(items):
        try:
            values.append(read_value(item))
        except TrialValueError as error:
            raise TrialValueError(f"{objectives.label(index)}: {error}") from None
    return values


def _is_array(value: Any) -> bool:
    """A numpy array or a tensor with one axis (read without importing either)."""
    return getattr(value, "ndim", None) == 1 and hasattr(value, "__len__")


def to_loss(value: float, maximize: bool) -> float:
    """The value told to the optimiser, which always minimises."""
    return -value if maximize else value


def _lookup(mapping: Mapping[str, Any], key: str, field: str = "monitor") -> Any:
    if key in mapping:
        return mapping[key]
    node: Any = mapping
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise TrialValueError(
                f"{field}={key!r} is not in the returned mapping; its keys are "
                f"{sorted(map(str, mapping))}"
            )
        node = node[part]
    return node
