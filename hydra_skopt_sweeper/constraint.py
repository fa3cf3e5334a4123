"""The sweep's constraint: which parameter combinations may be launched.

This module owns ``hydra.sweeper.constraint``. The user writes either

* a safe expression over the parameters, e.g. ``hidden_size % 32 == 0 and lr <= 0.01``, or
* a dotted path to a Python callable, e.g. ``my_pkg.checks.valid``, called with the params
  dict (full parameter names as keys) and returning a bool.

An expression is parsed once and checked against a whitelist before anything runs: constants,
tuple/list/set literals, ``and``/``or``/``not``, arithmetic, comparisons, ``x if c else y``,
parameter names and calls to a few math functions. Only the checked tree is ever evaluated,
with no builtins, so attribute access, subscripts, imports and the like cannot happen.

A parameter is named in full (``model.lr``) or by its last segment (``lr``) when exactly one
parameter ends with it.
"""
from __future__ import annotations

import ast
import importlib
import logging
import math
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from .errors import SweeperConfigError

log = logging.getLogger(__name__)

FIELD = "hydra.sweeper.constraint"

FUNCTIONS: Dict[str, Callable[..., Any]] = {
    "abs": abs, "min": min, "max": max, "round": round, "int": int, "float": float, "bool": bool,
    "log": math.log, "log2": math.log2, "log10": math.log10, "exp": math.exp,
    "sqrt": math.sqrt, "floor": math.floor, "ceil": math.ceil,
}

ALLOWED = (
    "parameter names (full, e.g. model.lr, or an unambiguous last segment, e.g. lr), "
    "number/string/bool/None constants, tuple/list/set literals, and/or/not, "
    "+ - * / // % **, comparisons (== != < <= > >= in, not in, is, is not, chained), "
    "'a if cond else b', and calls with positional arguments to " + ", ".join(FUNCTIONS)
    + "; or a dotted path to a callable taking the params dict"
)

_UNARY_OPS = (ast.Not, ast.USub, ast.UAdd)
_BINARY_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
# Name, Attribute, Call and Constant are absent on purpose: _Checker vets them itself.
_ALLOWED_NODES = (
    ast.Expression, ast.Load, ast.Tuple, ast.List, ast.Set, ast.BoolOp, ast.And, ast.Or,
    ast.UnaryOp, ast.BinOp, ast.Compare, ast.cmpop, ast.IfExp, *_UNARY_OPS, *_BINARY_OPS,
)
_CONSTANT_TYPES = (bool, int, float, str, type(None))
_DOTTED_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


class Constraint:
    """A compiled ``hydra.sweeper.constraint``; call it on a params dict to get a bool.

    Attributes
    ----------
    source : str
        The user's text, as written in the config.
    """

    source: str

    def __call__(self, params: Mapping[str, Any]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r})"


class _ExpressionConstraint(Constraint):
    def __init__(self, source: str, code: Any, slots: Dict[str, str]) -> None:
        self.source = source
        self._code = code
        self._slots = slots  # slot variable in the compiled code -> full parameter name
        self._globals: Dict[str, Any] = {"__builtins__": {}, **FUNCTIONS}
        self._warned: Set[str] = set()

    @property
    def names(self) -> List[str]:
        """The parameter names the expression uses (full names)."""
        return list(dict.fromkeys(self._slots.values()))

    def __call__(self, params: Mapping[str, Any]) -> bool:
        missing = [full for full in self._slots.values() if full not in params]
        if missing:
            # The caller's bug, not the user's: fail loudly rather than reject every point.
            raise KeyError(f"{FIELD}={self.source!r} needs {missing}, absent from {dict(params)}")
        values = {slot: params[full] for slot, full in self._slots.items()}
        try:
            return bool(eval(self._code, self._globals, values))  # noqa: S307 - whitelisted tree
        except Exception as error:  # noqa: BLE001 - a point the expression cannot judge is out
            message = f"{type(error).__name__}: {error}"
            # Once per distinct error: the optimiser may probe thousands of such points.
            if message not in self._warned:
                self._warned.add(message)
                log.warning("%s=%r raised %s on %s; such points count as not satisfying it",
                            FIELD, self.source, message, dict(params))
            return False


class _CallableConstraint(Constraint):
    def __init__(self, source: str, fn: Callable[[Dict[str, Any]], Any]) -> None:
        self.source = source
        self._fn = fn

    def __call__(self, params: Mapping[str, Any]) -> bool:
        return bool(self._fn(dict(params)))


class _Refused(Exception):
    """Why the expression is refused; compile_constraint adds the field and the text."""


class _Checker(ast.NodeTransformer):
    """Refuses every node outside the whitelist; rewrites parameter references to slots."""

    def __init__(self, names: Sequence[str], values: Optional[Mapping[str, Sequence[Any]]] = None) -> None:
        self.names = list(dict.fromkeys(names))
        self.values = dict(values or {})
        self.by_short: Dict[str, List[str]] = {}
        for full in self.names:
            self.by_short.setdefault(re.split(r"[./]", full)[-1], []).append(full)
        self.slots: Dict[str, str] = {}

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if not isinstance(node, _ALLOWED_NODES):
            raise _Refused(f"{_show(node)} ({type(node).__name__}) is not allowed")
        return super().generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        return self.generic_visit(_operator(node, _UNARY_OPS))

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        return self.generic_visit(_operator(node, _BINARY_OPS))

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if not isinstance(node.value, _CONSTANT_TYPES):
            raise _Refused(f"the constant {_show(node)} is not allowed")
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        _refuse_dunder(node.id)
        return self._slot(self._resolve(node.id), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        dotted = _dotted(node)
        for part in (dotted or "").split(".") + [node.attr]:
            _refuse_dunder(part)
        if dotted not in self.names:
            raise _Refused(f"the attribute access {_show(node)} is not a parameter name; "
                           f"known parameters: {', '.join(self.names)}")
        return self._slot(dotted, node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise _Refused(f"the call {_show(node)} is not allowed; only "
                           f"{', '.join(FUNCTIONS)} may be called")
        if node.keywords:
            raise _Refused(f"the call {_show(node)} uses keyword arguments; "
                           "only positional arguments are allowed")
        node.args = [self.visit(arg) for arg in node.args]
        return node

    def _resolve(self, name: str) -> str:
        if name in self.names:
            return name
        candidates = self.by_short.get(name, [])
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise _Refused(f"the name {name!r} is ambiguous: it could be any of "
                           f"{', '.join(candidates)}; write the full name")
        owners = [param for param, options in self.values.items() if name in options]
        if owners:
            raise _Refused(f"unknown name {name!r}; it is an option of {', '.join(owners)}: a string "
                           f"needs quotes, e.g. {owners[0]} == '{name}'")
        raise _Refused(f"unknown name {name!r}; known parameters: {', '.join(self.names)}")

    def _slot(self, full: str, node: ast.AST) -> ast.AST:
        # Dunder slot names cannot clash with user names: those refuse dunders.
        slot = next((s for s, f in self.slots.items() if f == full), f"__p{len(self.slots)}__")
        self.slots[slot] = full
        return ast.copy_location(ast.Name(id=slot, ctx=ast.Load()), node)


def _operator(node: Any, allowed: Tuple[type, ...]) -> Any:
    if not isinstance(node.op, allowed):
        raise _Refused(f"{_show(node)}: the operator {type(node.op).__name__} is not allowed")
    return node


def _show(node: ast.AST) -> str:
    return repr(ast.unparse(node))


def _refuse_dunder(identifier: str) -> None:
    if identifier.startswith("__") or identifier.endswith("__"):
        raise _Refused(f"{identifier!r}: dunder names are not allowed")


def _dotted(node: ast.AST) -> Optional[str]:
    """``a.b.c`` for a pure Name/Attribute chain, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def compile_constraint(
    spec: Optional[str], names: Sequence[str], values: Optional[Mapping[str, Sequence[Any]]] = None
) -> Optional[Constraint]:
    """Compile ``hydra.sweeper.constraint``; nothing the user wrote runs here.

    Parameters
    ----------
    spec : str or None
        The expression or dotted path. None, empty or blank means no constraint.
    names : sequence of str
        Every parameter name of the sweep, swept and fixed (e.g. ``model.lr``).
    values : mapping, optional
        The options of the choice parameters, by name: a bare word that is one of them is
        refused with a hint to quote it.

    Returns
    -------
    Constraint or None
        Called with a params dict holding every name it uses. An expression that raises on a
        point (say ``log(0)``) returns False for it and logs one warning per distinct error.
        A dotted-path callable is called as ``fn(dict(params))``; its exceptions propagate,
        since a bug in user code should be loud.

    Raises
    ------
    SweeperConfigError
        The expression is not valid Python, uses a construct or name that is not allowed, or
        the dotted path cannot be imported or is not callable.
    """
    if spec is None or not str(spec).strip():
        return None
    source = str(spec)
    text = source.strip()
    if _DOTTED_PATH.match(text) and text not in names:
        return _CallableConstraint(source, _import_callable(source, text, names))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        # Python reports offset 0 for an expression cut short.
        where = f"at column {error.offset}" if error.offset else "at the end"
        raise SweeperConfigError(
            f"{FIELD}={source!r}: not a valid expression ({error.msg} {where}); allowed: {ALLOWED}"
        ) from None
    checker = _Checker(names, values)
    try:
        tree = ast.fix_missing_locations(checker.visit(tree))
    except _Refused as refused:
        raise SweeperConfigError(f"{FIELD}={source!r}: {refused}; allowed: {ALLOWED}") from None
    code = compile(tree, f"<{FIELD}>", "eval")
    return _ExpressionConstraint(source, code, checker.slots)


def _import_callable(source: str, path: str, names: Sequence[str]) -> Callable[..., Any]:
    parts = path.split(".")
    try:
        # The longest importable prefix is the module; the rest are attributes
        # (so pkg.mod.func and pkg.mod.Class.method both work).
        for cut in range(len(parts) - 1, 0, -1):
            module_name = ".".join(parts[:cut])
            try:
                obj: Any = importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                # Only "this very module does not exist" means try a shorter prefix; a
                # dependency missing inside an existing module is the real error.
                if cut > 1 and error.name and f"{module_name}.".startswith(f"{error.name}."):
                    continue
                raise
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
            break
    except (ImportError, AttributeError) as error:
        raise SweeperConfigError(
            f"{FIELD}={source!r}: not a parameter name (known: {', '.join(names)}) and cannot "
            f"be imported as a callable: {type(error).__name__}: {error}"
        ) from error
    if not callable(obj):
        raise SweeperConfigError(
            f"{FIELD}={source!r}: {path} is a {type(obj).__name__}, not a callable; it must "
            "take the params dict and return a bool"
        )
    return obj


def check_satisfiable(constraint: Constraint, samples: Iterable[Mapping[str, Any]]) -> int:
    """Count the sample points that satisfy the constraint, refusing one none satisfy.

    Parameters
    ----------
    constraint : Constraint
        From :func:`compile_constraint`.
    samples : iterable of mapping
        Params dicts of random points of the search space (fixed values included).

    Returns
    -------
    int
        How many samples satisfy it (at least 1).

    Raises
    ------
    SweeperConfigError
        No sample satisfies it: the sweep could never launch a trial.
    ValueError
        ``samples`` is empty, which proves nothing.
    """
    results = [bool(constraint(params)) for params in samples]
    if not results:
        raise ValueError("check_satisfiable needs at least one sample point")
    if not any(results):
        raise SweeperConfigError(
            f"{FIELD}={constraint.source!r}: no point of the search space satisfies it "
            f"(0 of {len(results)} random points); loosen it or widen the space"
        )
    return sum(results)
