"""The sweep's constraint: which parameter combinations may be launched.

This module owns ``hydra.sweeper.constraint``. The user writes either

* a safe expression over the parameters, e.g. ``hidden_size % 32 == 0 and lr <= 0.01``, or
* a dotted path to a Python callable, e.g. ``my_pkg.checks.valid``, called with the params
  dict (full parameter names as keys) and returning a bool.

An expression is parsed once and checked against a whitelist before anything runs: constants,
tuple/list/set literals, ``and``/``or``/``not``, arithmetic, comparisons, ``x if c else y``,
parameter names and calls to a few math functions. Only the checked tree is ever evaluated,
with no builtins, so attribute access, subscripts, imports and the like cannot happen.

Its cost is bounded too: a deeper or larger tree than :data:`MAX_DEPTH` / :data:`MAX_NODES` is
refused when it is read, and the operations that could build a huge value (``**``, ``*``,
``+`` on sequences, ``round``) refuse an integer over :data:`MAX_INT_BITS` bits or a sequence
over :data:`MAX_LENGTH` items before computing it; ``%`` does not format strings. A part of
the expression that names no parameter is computed once when it is read, so that such a part
is refused there, with the field named.

A parameter is named in full (``model.lr``) or by its last segment (``lr``) when exactly one
parameter ends with it.
"""
from __future__ import annotations

import ast
import contextlib
import logging
import math
import re
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Union

from hydra.utils import get_object

from ..errors import SweeperConfigError

log = logging.getLogger(__name__)

FIELD = "hydra.sweeper.constraint"

# What an expression may be and build: a constraint compares numbers and short strings, and
# these keep a mistyped or hostile one from hanging the sweep or exhausting its memory
MAX_DEPTH = 50  # nesting of its syntax tree
MAX_NODES = 1000  # nodes of its syntax tree
MAX_INT_BITS = 10_000  # an integer a power, product or round may produce
MAX_LENGTH = 10_000  # a string, tuple or list a repeat or concatenation may produce


class LimitExceeded(ArithmeticError):
    """An operation of the expression would build a value over the limits above."""


def _sequence(value: Any) -> bool:
    return isinstance(value, (str, tuple, list))


def _add(a: Any, b: Any) -> Any:
    if _sequence(a) and _sequence(b) and len(a) + len(b) > MAX_LENGTH:
        raise LimitExceeded(f"a concatenation over {MAX_LENGTH} items")
    return a + b


def _multiply(a: Any, b: Any) -> Any:
    for sequence, count in ((a, b), (b, a)):
        if _sequence(sequence) and isinstance(count, int) and len(sequence) * count > MAX_LENGTH:
            raise LimitExceeded(f"a repeat over {MAX_LENGTH} items")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
        raise LimitExceeded(f"an integer product over {MAX_INT_BITS} bits")
    return a * b


def _power(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and (abs(a).bit_length() - 1) * b > MAX_INT_BITS:
        raise LimitExceeded(f"an integer power over {MAX_INT_BITS} bits")
    return a ** b


def _modulo(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        raise LimitExceeded("% does not format strings here")
    return a % b


def _round(number: Any, *ndigits: Any) -> Any:
    # an integer rounded to -n digits computes 10 ** n
    if ndigits and isinstance(ndigits[0], int) and abs(ndigits[0]) * math.log2(10) > MAX_INT_BITS:
        raise LimitExceeded(f"round to that many digits needs an integer over {MAX_INT_BITS} bits")
    return round(number, *ndigits)


FUNCTIONS: Dict[str, Callable[..., Any]] = {
    "abs": abs, "min": min, "max": max, "round": _round, "int": int, "float": float, "bool": bool,
    "log": math.log, "log2": math.log2, "log10": math.log10, "exp": math.exp,
    "sqrt": math.sqrt, "floor": math.floor, "ceil": math.ceil,
}
# the operators that could build a huge value, evaluated by the bounded functions above
# (dunder names: a user's name cannot clash with them, since those refuse dunders)
_BOUNDED_OPERATORS: Dict[type, Tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("__add__", _add), ast.Mult: ("__multiply__", _multiply),
    ast.Pow: ("__power__", _power), ast.Mod: ("__modulo__", _modulo),
}
_NAMESPACE: Dict[str, Any] = {"__builtins__": {}, **FUNCTIONS,
                              **{name: fn for name, fn in _BOUNDED_OPERATORS.values()}}

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
    field : str
        Where the user gave it, for errors: the config key, or a Python door's argument.
    """

    source: str
    field: str = FIELD

    def __call__(self, params: Mapping[str, Any]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r})"


class _ExpressionConstraint(Constraint):
    def __init__(self, source: str, code: Any, slots: Dict[str, str]) -> None:
        self.source = source
        self._code = code
        self._slots = slots  # slot variable in the compiled code -> full parameter name
        self._globals: Dict[str, Any] = dict(_NAMESPACE)
        self._warned: Set[str] = set()

    @property
    def names(self) -> List[str]:
        """The parameter names the expression uses (full names)."""
        return list(dict.fromkeys(self._slots.values()))

    @property
    def errors(self) -> List[str]:
        """The distinct errors it raised on the points it was called on."""
        return sorted(self._warned)

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
    def __init__(self, source: str, fn: Callable[[Dict[str, Any]], Any], field: str = FIELD) -> None:
        self.source = source
        self.field = field
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
        node = self.generic_visit(_operator(node, _BINARY_OPS))
        if type(node.op) not in _BOUNDED_OPERATORS:
            return node
        bounded = ast.Name(id=_BOUNDED_OPERATORS[type(node.op)][0], ctx=ast.Load())
        return ast.copy_location(ast.Call(func=bounded, args=[node.left, node.right], keywords=[]), node)

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
    spec: Union[None, str, Callable[[Dict[str, Any]], Any]], names: Sequence[str],
    values: Optional[Mapping[str, Sequence[Any]]] = None,
) -> Optional[Constraint]:
    """Compile ``hydra.sweeper.constraint``; nothing the user wrote runs here.

    Parameters
    ----------
    spec : str, callable or None
        The expression or dotted path, or a Python callable on the params dict (the Python
        doors). None, empty or blank means no constraint.
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
        A callable (given, or named by a dotted path) is called as ``fn(dict(params))``; its
        exceptions propagate, since a bug in user code should be loud.

    Raises
    ------
    SweeperConfigError
        The expression is not valid Python, uses a construct or name that is not allowed, is
        deeper or larger than MAX_DEPTH / MAX_NODES, has a part naming no parameter whose value
        is over the limits, or the dotted path cannot be imported or is not callable.
    """
    if callable(spec):
        # given to a Python door, whose argument is ``constraint``
        return _CallableConstraint(f"<Python callable {getattr(spec, '__qualname__', type(spec).__name__)}>",
                                   spec, field="constraint")
    if spec is None or not str(spec).strip():
        return None
    source = str(spec)
    text = source.strip()
    if _DOTTED_PATH.match(text) and text not in names:
        return _CallableConstraint(source, _import_callable(source, text, names))
    tree, slots = _checked(source, names, values, field=FIELD, allowed=ALLOWED)
    code = compile(tree, f"<{FIELD}>", "eval")
    return _ExpressionConstraint(source, code, slots)


def _checked(source: str, names: Sequence[str], values: Optional[Mapping[str, Sequence[Any]]], *,
             field: str, allowed: str, tree: Optional[ast.Expression] = None) -> Tuple[ast.Expression, Dict[str, str]]:
    """The expression ``source`` parsed (unless ``tree`` is given) and checked against the
    whitelist, its names rewritten to slots; raises :class:`SweeperConfigError` naming
    ``field`` and what it ``allowed``."""
    text = source.strip()
    instead = "a dotted path to a Python function" if field == FIELD else "a simpler expression"
    too_deep = (f"{field}={source!r}: must nest at most {MAX_DEPTH} levels and have at most "
                f"{MAX_NODES} parts; split it into simpler conditions, or write it as {instead}")
    if tree is None:
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as error:
            # Python reports offset 0 for an expression cut short.
            where = f"at column {error.offset}" if error.offset else "at the end"
            raise SweeperConfigError(
                f"{field}={source!r}: not a valid expression ({error.msg} {where}); allowed: {allowed}"
            ) from None
        except (RecursionError, MemoryError):  # Python's own parser gives up on deep nesting
            raise SweeperConfigError(too_deep) from None
    if not _small(tree):
        raise SweeperConfigError(too_deep)
    checker = _Checker(names, values)
    try:
        tree = ast.fix_missing_locations(checker.visit(tree))
    except _Refused as refused:
        raise SweeperConfigError(f"{field}={source!r}: {refused}; allowed: {allowed}") from None
    try:
        _compute_constant_parts(tree.body, checker.slots, text)
    except LimitExceeded as error:
        raise SweeperConfigError(
            f"{field}={source!r}: {error}; must build integers of at most {MAX_INT_BITS} bits and "
            f"strings, tuples and lists of at most {MAX_LENGTH} items; write smaller numbers, or "
            f"{instead}"
        ) from None
    return tree, checker.slots


def free_names(tree: ast.AST) -> List[str]:
    """The names an expression reads (``a``, or a dotted ``a.b``), not those it calls."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    names: List[str] = []
    inner = set()
    for node in ast.walk(tree):
        if id(node) in called or id(node) in inner or not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        dotted = _dotted(node)
        if dotted is None:
            continue
        inner.update(id(part) for part in ast.walk(node) if part is not node)
        names.append(dotted)
    return list(dict.fromkeys(names))


def compile_expression(source: str, tree: ast.Expression, names: Sequence[str], *, field: str,
                       allowed: str) -> Callable[[Mapping[str, Any]], Any]:
    """A checked expression over ``names`` (see :func:`compile_constraint`'s whitelist) as a
    function of a mapping holding them; its errors propagate. A refusal names ``field`` and
    says what is ``allowed``."""
    tree, slots = _checked(source, names, None, field=field, allowed=allowed, tree=tree)
    code = compile(tree, f"<{field}>", "eval")

    def evaluate(values: Mapping[str, Any]) -> Any:
        return eval(code, dict(_NAMESPACE), {slot: values[full] for slot, full in slots.items()})  # noqa: S307

    return evaluate


def _small(tree: ast.AST) -> bool:
    """At most MAX_DEPTH levels and MAX_NODES nodes (counted without recursing)."""
    count, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            return False
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return True


def _compute_constant_parts(node: ast.AST, slots: Mapping[str, str], text: str) -> None:
    """Compute each largest part that names no parameter once, refusing one over the limits.

    A part that fails otherwise (say ``log(0)``) is left to the points, which count as not
    satisfying the constraint."""
    if isinstance(node, (ast.Constant, ast.Name, ast.expr_context, ast.cmpop, ast.boolop)):
        return
    if isinstance(node, ast.expr) and not any(
        isinstance(inner, ast.Name) and inner.id in slots for inner in ast.walk(node)
    ):
        try:
            eval(compile(ast.Expression(body=node), f"<{FIELD}>", "eval"), dict(_NAMESPACE))  # noqa: S307
        except LimitExceeded as error:
            raise LimitExceeded(f"{ast.get_source_segment(text, node)!r} is too large to compute ({error})") from None
        except Exception:  # noqa: BLE001 - judged point by point, like any other error
            pass
        return
    for child in ast.iter_child_nodes(node):
        _compute_constant_parts(child, slots, text)


def _import_callable(source: str, path: str, names: Sequence[str]) -> Callable[..., Any]:
    try:
        # pkg.mod.func and pkg.mod.Class.method both resolve
        with _quiet("hydra.utils"):
            obj = get_object(path)
    except ImportError as error:
        cause = error.__cause__ or error  # what the import or the attribute lookup raised
        if isinstance(cause, ModuleNotFoundError) and "." in (cause.name or "") \
                and f"{path}.".startswith(f"{cause.name}."):
            # a module lacks the attribute, so Hydra tried it as a submodule: the attribute is missing
            module, _, attribute = cause.name.rpartition(".")
            cause = AttributeError(f"module {module!r} has no attribute {attribute!r}")
        raise SweeperConfigError(
            f"{FIELD}={source!r}: not a parameter name (known: {', '.join(names)}) and cannot "
            f"be imported as a callable: {type(cause).__name__}: {cause}"
        ) from error
    if not callable(obj):
        raise SweeperConfigError(
            f"{FIELD}={source!r}: {path} is a {type(obj).__name__}, not a callable; it must "
            "take the params dict and return a bool"
        )
    return obj


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Hold back a logger's records: Hydra's lookup logs the error this module reports."""
    logger = logging.getLogger(logger_name)
    disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = disabled


def check_satisfiable(constraint: Constraint, samples: Iterable[Mapping[str, Any]],
                      because: Optional[str] = None) -> int:
    """Count the sample points that satisfy the constraint, refusing one none satisfy.

    Parameters
    ----------
    constraint : Constraint
        From :func:`compile_constraint`.
    samples : iterable of mapping
        Params dicts of random points of the search space (fixed values included).
    because : str, optional
        What fixed the space, when the user just chose it (``"y=5 pinned on the command
        line"``): the refusal names it as what to change.

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
        errors = getattr(constraint, "errors", [])
        raised = f"; on some it raised {errors[0]}" if errors else ""
        if because is not None:
            raise SweeperConfigError(
                f"{constraint.field}={constraint.source!r}: no point satisfies it with {because} (0 of "
                f"{len(results)} random points{raised}); pin a value the constraint allows, or loosen it"
            )
        raise SweeperConfigError(
            f"{constraint.field}={constraint.source!r}: no point of the search space satisfies it "
            f"(0 of {len(results)} random points{raised}); loosen it or widen the space"
        )
    return sum(results)
