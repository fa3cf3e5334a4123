"""Constraints on what a trial measured: ``hydra.sweeper.metric_constraints``.

Each constraint is one inequality, ``A <= B`` (or ``<``, ``>=``, ``>``), over the keys of the
mapping a trial returns (``n_params <= 1e6``, ``latency_ms / 1000 < 0.02``; a dotted key reads
a nested mapping, as ``monitor`` does; a key that is no Python name, such as Lightning's
``val/acc``, is written between backticks: ```val/acc` >= 0.9``), in the parameter constraint's safe language
(:mod:`.constraint`): parsed and checked once, before any launch. A trial's *slack* on it is
``A - B`` (``B - A`` for ``>=`` and ``>``): the inequality holds when the slack is at most 0
(below 0 for a strict one, whose boundary is given the smallest positive slack). A trial is *feasible* when every inequality holds for the metrics
it returned; the feasibility models learn the slacks.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import SweeperConfigError
from .constraint import FUNCTIONS, compile_expression, free_names

FIELD = "hydra.sweeper.metric_constraints"
ALLOWED = ("one inequality (<, <=, >, >=) between expressions of the returned metrics' keys (a dotted "
           "key reads a nested mapping; `a key/like this` between backticks), number constants, + - * / // % **, and calls with positional "
           "arguments to " + ", ".join(FUNCTIONS))
_OPERATORS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_QUOTED_KEY = re.compile(r"`([^`]*)`")


@dataclass(frozen=True)
class MetricConstraint:
    """One compiled inequality; ``names``: the metric keys it reads."""

    source: str
    names: Tuple[str, ...]
    strict: bool
    _slack: Callable[[Mapping[str, Any]], Any]

    def slack(self, metrics: Mapping[str, float]) -> float:
        """How far the metrics are inside (at most 0) or outside (above 0) the inequality; a
        strict one's boundary counts as outside (the smallest positive float); ``inf`` where
        it cannot be computed (a division by zero, say)."""
        try:
            value = float(self._slack(metrics))
        except (ArithmeticError, ValueError, TypeError):
            return math.inf
        if not math.isfinite(value):
            return math.inf
        return math.ulp(0.0) if self.strict and value == 0 else value

    def holds(self, metrics: Mapping[str, float]) -> bool:
        return self.slack(metrics) <= 0


class MetricConstraints:
    """The sweep's ``metric_constraints``, compiled.

    Parameters
    ----------
    specs : sequence of str
        The inequalities as written.
    parameters : sequence of str
        The sweep's parameter names: a constraint over one of them belongs in
        ``hydra.sweeper.constraint`` and is refused here.

    Raises
    ------
    SweeperConfigError
        An entry that is not one inequality, does not parse, or reads no metric or a parameter.
    """

    def __init__(self, specs: Sequence[str], parameters: Sequence[str] = ()) -> None:
        self.constraints = [_compile(str(spec), parameters) for spec in specs]

    def __bool__(self) -> bool:
        return bool(self.constraints)

    def __len__(self) -> int:
        return len(self.constraints)

    @property
    def names(self) -> Tuple[str, ...]:
        """Every metric key the constraints read, in order."""
        return tuple(dict.fromkeys(name for c in self.constraints for name in c.names))

    def slacks(self, metrics: Optional[Mapping[str, float]]) -> Optional[List[float]]:
        """Each constraint's slack, or None when the trial measured nothing."""
        if metrics is None or any(name not in metrics for name in self.names):
            return None
        return [c.slack(metrics) for c in self.constraints]

    def feasible(self, metrics: Optional[Mapping[str, float]]) -> bool:
        """Whether every inequality holds (False when the trial measured nothing)."""
        if metrics is None or any(name not in metrics for name in self.names):
            return False
        return all(c.holds(metrics) for c in self.constraints)

    def violated(self, metrics: Mapping[str, float]) -> List[str]:
        """The inequalities that do not hold, each with the metrics it read."""
        return [f"{c.source} ({', '.join(f'{n} = {metrics[n]:.6g}' for n in c.names)})"
                for c in self.constraints if not c.holds(metrics)]

    def describe(self) -> str:
        return ", ".join(repr(c.source) for c in self.constraints)


def _unquoted(source: str, shown: str) -> Tuple[str, Dict[str, str]]:
    """``source`` with each backtick-quoted key replaced by a name the parser reads, and those
    names' keys."""
    keys: Dict[str, str] = {}

    def name(match: "re.Match[str]") -> str:
        key = match.group(1).strip()
        if not key:
            raise SweeperConfigError(f"{shown}: empty backticks; write a metric key between them, e.g. `val/acc`")
        slot = f"quoted_key_{len(keys)}"
        keys[slot] = key
        return f" {slot} "

    text = _QUOTED_KEY.sub(name, source)
    if "`" in text:
        raise SweeperConfigError(f"{shown}: a backtick is not closed; write a key that is no Python "
                                 "name between two backticks, e.g. `val/acc` >= 0.9")
    return text, keys


def _compile(source: str, parameters: Sequence[str]) -> MetricConstraint:
    shown = f"{FIELD}={source!r}"
    text, quoted = _unquoted(source, shown)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        # a column of the text with its quoted keys replaced would point elsewhere in the source
        where = "" if quoted else f" at column {error.offset}" if error.offset else " at the end"
        raise SweeperConfigError(f"{shown}: not a valid inequality ({error.msg}{where}); write "
                                 "one comparison of the returned metrics, e.g. 'n_params <= 1e6'") from None
    body = tree.body
    if not (isinstance(body, ast.Compare) and len(body.ops) == 1 and type(body.ops[0]) in _OPERATORS):
        raise SweeperConfigError(f"{shown}: must be one inequality (<, <=, >, >=) between expressions of "
                                 "the metrics a trial returns, e.g. 'n_params <= 1e6'; write each "
                                 "condition as its own entry")
    slots = free_names(body)
    names = [quoted.get(slot, slot) for slot in slots]
    if not names:
        raise SweeperConfigError(f"{shown}: reads no metric; name a key of the mapping the trials return")
    params = [name for name in names if name in parameters
              or any(p.split(".")[-1] == name for p in parameters)]
    if params:
        raise SweeperConfigError(f"{shown}: {', '.join(params)} is a swept parameter, known before launch; "
                                 "write that condition in hydra.sweeper.constraint")
    op = body.ops[0]
    left, right = body.left, body.comparators[0]
    low, high = (left, right) if isinstance(op, (ast.Lt, ast.LtE)) else (right, left)
    slack = ast.Expression(body=ast.BinOp(left=low, op=ast.Sub(), right=high))
    evaluate = compile_expression(source, ast.fix_missing_locations(slack), slots, field=FIELD, allowed=ALLOWED)
    if quoted:
        plain = evaluate

        def evaluate(metrics: Mapping[str, Any]) -> Any:
            return plain({slot: metrics[quoted.get(slot, slot)] for slot in slots})

    return MetricConstraint(source, tuple(names), isinstance(op, (ast.Lt, ast.Gt)), evaluate)
