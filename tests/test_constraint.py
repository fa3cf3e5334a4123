"""Unit tests: hydra.sweeper.constraint, the expression whitelist and the dotted-path form."""
import logging
from types import MappingProxyType

import pytest

from hydra_skopt_sweeper.errors import SweeperConfigError
from hydra_skopt_sweeper.problem.constraint import Constraint, check_satisfiable, compile_constraint

NAMES = ["model.lr", "model.hidden_size", "optimizer", "batch_size", "data.name"]
POINT = {"model.lr": 0.001, "model.hidden_size": 64, "optimizer": "adam",
         "batch_size": 32, "data.name": "digits"}


def holds(spec, names=NAMES, **changes):
    constraint = compile_constraint(spec, names)
    assert isinstance(constraint, Constraint)
    return constraint({**POINT, **changes})


@pytest.mark.parametrize("spec", [None, "", "   \n"])
def test_no_spec_is_no_constraint(spec):
    assert compile_constraint(spec, NAMES) is None


# -- allowed constructs: each case is checked on a point where it holds and one where it fails.

@pytest.mark.parametrize("spec, good, bad", [
    ("hidden_size % 32 == 0", {}, {"model.hidden_size": 48}),
    ("model.hidden_size * batch_size <= 4096", {}, {"batch_size": 128}),
    ("batch_size // 8 - 1 == 3 and -batch_size < +0", {}, {"batch_size": 40}),
    ("2 ** 5 == batch_size and batch_size / 64 == 0.5", {}, {"batch_size": 16}),
    ("1e-4 < lr <= 0.01", {}, {"model.lr": 0.1}),
    ("1e-4 < lr <= 0.01", {}, {"model.lr": 1e-5}),
    ("not (lr > 0.01 or batch_size > 64)", {}, {"batch_size": 128}),
    ("optimizer == 'adam'", {}, {"optimizer": "sgd"}),
    ("optimizer in ('adam', 'adamw')", {}, {"optimizer": "sgd"}),
    ("optimizer not in ['sgd'] and batch_size in {16, 32}", {}, {"batch_size": 64}),
    ("data.name != None and optimizer is not None", {}, {"optimizer": None}),
    ("(optimizer is None) == False", {}, {"optimizer": None}),
    ("lr < 0.01 if optimizer == 'adam' else lr < 0.1", {}, {"model.lr": 0.05}),
    ("lr < 0.01 if optimizer == 'adam' else lr < 0.1", {"optimizer": "sgd", "model.lr": 0.05},
     {"optimizer": "sgd", "model.lr": 0.5}),
    ("log2(batch_size) == 5", {}, {"batch_size": 33}),
    ("log10(1 / lr) == 3", {}, {"model.lr": 0.01}),
    ("abs(log(lr) - log(0.001)) < 1e-9 and exp(0) == 1", {}, {"model.lr": 0.002}),
    ("sqrt(hidden_size) == 8 and floor(2.7) == 2 and ceil(2.1) == 3", {},
     {"model.hidden_size": 63}),
    ("min(batch_size, 40) == 32 and max(batch_size, 8) == 32", {}, {"batch_size": 48}),
    ("round(lr, 2) == 0 and int(2.9) == 2 and float('1.5') == 1.5", {}, {"model.lr": 0.1}),
    ("bool(batch_size)", {}, {"batch_size": 0}),
    ("True and batch_size", {}, {"batch_size": 0}),
])
def test_allowed_constructs_evaluate(spec, good, bad):
    assert holds(spec, **good) is True
    assert holds(spec, **bad) is False


def test_result_is_converted_to_bool():
    assert holds("batch_size") is True
    assert holds("batch_size - 32") is False


def test_full_dotted_name_and_short_name_are_the_same_parameter():
    assert holds("model.lr == lr", **{"model.lr": 0.5})
    assert holds("model.hidden_size", **{"model.hidden_size": 0}) is False


def test_exact_full_name_wins_over_a_short_name():
    names = ["lr", "model.lr"]
    constraint = compile_constraint("lr > 1", names)
    assert constraint({"lr": 2, "model.lr": 0}) is True
    assert constraint({"lr": 0, "model.lr": 2}) is False


def test_config_group_path_resolves_by_its_last_segment():
    assert compile_constraint("optimizer == 'adam'", ["model/optimizer"])(
        {"model/optimizer": "adam"}) is True


def test_parameter_named_like_a_function_is_still_a_parameter():
    constraint = compile_constraint("abs(exp) < 2", ["x.exp"])
    assert constraint({"x.exp": -1}) is True
    assert constraint({"x.exp": -3}) is False


def test_source_keeps_the_users_text():
    assert compile_constraint(" batch_size > 1 ", NAMES).source == " batch_size > 1 "


# -- refused constructs

@pytest.mark.parametrize("spec, piece", [
    ("().__class__", "__class__"),
    ("lr.__class__ == 1", "__class__"),
    ("__import__('os')", "__import__"),
    ("__builtins__", "__builtins__"),
    ("lr.real > 0", "lr.real"),
    ("optimizer.upper() == 'ADAM'", "optimizer.upper()"),
    ("model.dropout > 0", "model.dropout"),
    ("abs(lr).real > 0", "abs(lr).real"),
    ("open('x')", "open('x')"),
    ("eval('1')", "eval('1')"),
    ("exec('1')", "exec('1')"),
    ("getattr(lr, 'real')", "getattr(lr, 'real')"),
    ("(lambda: 1)()", "(lambda: 1)()"),
    ("round(lr, ndigits=2) == 0", "ndigits=2"),
    ("max(*[1, 2]) > 1", "*[1, 2]"),
    ("(lambda x: x)(1)", "lambda"),
    ("optimizer[0] == 'a'", "optimizer[0]"),
    ("[x for x in (1, 2)]", "Comp"),
    ("any(x > 1 for x in (1, 2))", "any"),
    ("{k: 1 for k in 'ab'}", "Comp"),
    ("f'{lr}' == '1'", "JoinedStr"),
    ("(y := 1) == 1", "NamedExpr"),
    ("{'a': 1}", "Dict"),
    ("b'x' == b'x'", "b'x'"),
    ("... is None", "..."),
    ("batch_size & 1", "BitAnd"),
    ("~batch_size", "Invert"),
    ("lr @ lr", "MatMult"),
    ("(lambda: 0)", "Lambda"),
])
def test_refused_constructs(spec, piece):
    with pytest.raises(SweeperConfigError) as raised:
        compile_constraint(spec, NAMES)
    message = str(raised.value)
    assert "hydra.sweeper.constraint=" in message
    assert repr(spec) in message
    assert piece in message
    assert "allowed:" in message


def test_refused_operator_names_the_expression_around_it():
    with pytest.raises(SweeperConfigError, match=r"'batch_size << 1': the operator LShift"):
        compile_constraint("lr > 0 and batch_size << 1 == 64", NAMES)


def test_refused_call_names_the_allowed_functions():
    with pytest.raises(SweeperConfigError, match="only abs, min, max, round.*ceil may be called"):
        compile_constraint("open('x')", NAMES)


def test_syntax_error_says_what_python_says():
    with pytest.raises(SweeperConfigError) as raised:
        compile_constraint("lr <= ", NAMES)
    message = str(raised.value)
    assert "hydra.sweeper.constraint='lr <= '" in message
    assert "not a valid expression (invalid syntax at the end)" in message


def test_statement_is_a_syntax_error():
    with pytest.raises(SweeperConfigError, match="not a valid expression"):
        compile_constraint("import os", NAMES)


def test_unknown_name_lists_the_known_names():
    with pytest.raises(SweeperConfigError) as raised:
        compile_constraint("dropout > 0", NAMES)
    message = str(raised.value)
    assert "unknown name 'dropout'" in message
    assert "model.lr, model.hidden_size, optimizer, batch_size, data.name" in message


def test_ambiguous_short_name_names_the_candidates():
    with pytest.raises(SweeperConfigError) as raised:
        compile_constraint("lr < 0.1", ["model.lr", "opt.lr"])
    message = str(raised.value)
    assert "'lr' is ambiguous" in message and "model.lr, opt.lr" in message
    # the full names still work
    constraint = compile_constraint("model.lr < opt.lr", ["model.lr", "opt.lr"])
    assert constraint({"model.lr": 1, "opt.lr": 2}) is True
    assert constraint({"model.lr": 2, "opt.lr": 1}) is False


# -- evaluation errors

def test_evaluation_error_is_false_with_one_warning_per_distinct_error(caplog):
    constraint = compile_constraint("log(lr) < 0 and 1 / batch_size > 0", NAMES)
    with caplog.at_level(logging.WARNING, logger="hydra_skopt_sweeper.problem.constraint"):
        results = [constraint({**POINT, "model.lr": 0.0}) for _ in range(5)]
        results += [constraint({**POINT, "batch_size": 0}) for _ in range(3)]
        results.append(constraint(POINT))
    assert results == [False] * 8 + [True]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "math domain error" in warnings[0].getMessage()
    assert "ZeroDivisionError" in warnings[1].getMessage()
    assert "hydra.sweeper.constraint=" in warnings[0].getMessage()


def test_type_error_counts_as_not_satisfied():
    assert holds("optimizer > 3") is False


def test_a_parameter_missing_from_the_point_is_loud():
    constraint = compile_constraint("batch_size > 1", NAMES)
    with pytest.raises(KeyError, match="batch_size"):
        constraint({"model.lr": 0.1})


# -- dotted path to a callable

@pytest.fixture
def checks_module(tmp_path, monkeypatch, request):
    name = f"constraint_checks_{request.node.name.replace('[', '_').replace(']', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "calls = []\n"
        "def small_batches(params):\n"
        "    calls.append(params)\n"
        "    return params['batch_size'] <= 32\n"
        "def broken(params):\n"
        "    raise RuntimeError('bug in user code')\n"
        "class Checks:\n"
        "    @staticmethod\n"
        "    def adam_only(params):\n"
        "        return params['optimizer'] == 'adam'\n"
        "NOT_CALLABLE = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_dotted_path_to_a_function(checks_module):
    import importlib

    constraint = compile_constraint(f"{checks_module}.small_batches", NAMES)
    assert constraint(MappingProxyType(POINT)) is True  # any Mapping in, a plain dict to user code
    assert constraint({**POINT, "batch_size": 64}) is False
    calls = importlib.import_module(checks_module).calls
    assert calls[0] == POINT and type(calls[0]) is dict


def test_dotted_path_to_a_static_method(checks_module):
    constraint = compile_constraint(f"{checks_module}.Checks.adam_only", NAMES)
    assert constraint(POINT) is True
    assert constraint({**POINT, "optimizer": "sgd"}) is False


def test_dotted_path_in_the_stdlib():
    constraint = compile_constraint("operator.truth", NAMES)
    assert constraint({}) is False
    assert constraint(POINT) is True


def test_callable_exceptions_propagate(checks_module):
    constraint = compile_constraint(f"{checks_module}.broken", NAMES)
    with pytest.raises(RuntimeError, match="bug in user code"):
        constraint(POINT)


@pytest.mark.parametrize("path, error", [
    ("no_such_pkg_xyz.checks.valid", "No module named 'no_such_pkg_xyz'"),
    ("math.no_such_function", "AttributeError"),
    ("model.dropout", "No module named 'model'"),
])
def test_dotted_path_that_does_not_import(path, error):
    with pytest.raises(SweeperConfigError) as raised:
        compile_constraint(path, NAMES)
    message = str(raised.value)
    assert f"hydra.sweeper.constraint={path!r}" in message
    assert "cannot be imported" in message and error in message
    assert "model.lr" in message  # the known parameter names, in case it was a typo


def test_dotted_path_to_a_non_callable(checks_module):
    with pytest.raises(SweeperConfigError, match="is a int, not a callable"):
        compile_constraint(f"{checks_module}.NOT_CALLABLE", NAMES)


def test_missing_dependency_inside_the_module_is_reported(tmp_path, monkeypatch):
    (tmp_path / "constraint_needs_dep.py").write_text("import no_such_dep_xyz\ndef f(p): return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SweeperConfigError, match="No module named 'no_such_dep_xyz'"):
        compile_constraint("constraint_needs_dep.f", NAMES)


def test_dotted_name_that_is_a_parameter_is_an_expression():
    assert holds("model.lr", **{"model.lr": 0.0}) is False
    assert holds("model.lr") is True


# -- check_satisfiable

def test_check_satisfiable_counts_the_satisfying_points():
    constraint = compile_constraint("batch_size % 32 == 0", NAMES)
    samples = [{**POINT, "batch_size": b} for b in (16, 32, 48, 64, 96)]
    assert check_satisfiable(constraint, iter(samples)) == 3


def test_check_satisfiable_refuses_an_unsatisfiable_constraint():
    constraint = compile_constraint("batch_size > 1000", NAMES)
    samples = [{**POINT, "batch_size": b} for b in (16, 32, 64)]
    with pytest.raises(SweeperConfigError) as raised:
        check_satisfiable(constraint, samples)
    message = str(raised.value)
    assert "hydra.sweeper.constraint='batch_size > 1000'" in message
    assert "0 of 3 random points" in message and "loosen it or widen the space" in message


def test_check_satisfiable_counts_evaluation_errors_as_unsatisfied():
    constraint = compile_constraint("1 / batch_size > 0", NAMES)
    with pytest.raises(SweeperConfigError, match="0 of 2"):
        check_satisfiable(constraint, [{**POINT, "batch_size": 0}] * 2)


def test_check_satisfiable_needs_samples():
    with pytest.raises(ValueError, match="at least one sample"):
        check_satisfiable(compile_constraint("batch_size > 1", NAMES), [])



def test_syntax_error_gives_the_column():
    with pytest.raises(SweeperConfigError, match=r"\(invalid syntax at column 4\)"):
        compile_constraint("lr lr > 1", NAMES)


def test_a_bare_word_that_is_an_option_gets_a_hint_to_quote_it():
    with pytest.raises(SweeperConfigError) as error:
        compile_constraint("optimizer == sgd and lr < 0.1", ["optimizer", "lr"], {"optimizer": ["adam", "sgd"]})
    assert "unknown name 'sgd'; it is an option of optimizer: a string needs quotes, e.g. optimizer == 'sgd'" in str(error.value)


# -- bounded cost: nothing the user types hangs the sweep or exhausts its memory

@pytest.mark.parametrize("spec, part, why", [
    ("9**9**9 > batch_size", "'9**9**9'", "an integer power over 10000 bits"),
    ('("a" * 10**9) != optimizer', "'\"a\" * 10**9'", "a repeat over 10000 items"),
    ("optimizer in [0] * 10**9", "'[0] * 10**9'", "a repeat over 10000 items"),
    ("optimizer == 'a' * 6000 + 'b' * 6000", "\"'a' * 6000 + 'b' * 6000\"", "a concatenation over 10000 items"),
    ("batch_size < 2**9000 * 2**9000", "'2**9000 * 2**9000'", "an integer product over 10000 bits"),
    ("round(5, -10**8) < batch_size", "'round(5, -10**8)'", "round to that many digits"),
])
def test_a_constant_part_too_large_to_compute_is_refused_when_read(spec, part, why):
    with pytest.raises(SweeperConfigError) as raised:
        compile_constraint(spec, NAMES)
    message = str(raised.value)
    assert message.startswith(f"hydra.sweeper.constraint={spec!r}: {part} is too large to compute ({why}")
    assert "write smaller numbers, or a dotted path to a Python function" in message


@pytest.mark.parametrize("spec", [
    "batch_size ** 10**6 > 0",
    "optimizer * 10**9 != ''",
    "round(batch_size, -10**8) == 0",
    "'%999999999d' % batch_size != ''",
])
def test_a_part_too_large_on_a_point_counts_as_not_satisfied_with_its_reason(spec, caplog):
    constraint = compile_constraint(spec, NAMES)
    with caplog.at_level(logging.WARNING, logger="hydra_skopt_sweeper.problem.constraint"):
        assert constraint(POINT) is False
        with pytest.raises(SweeperConfigError) as raised:
            check_satisfiable(constraint, [POINT, {**POINT, "batch_size": 64}])
    assert "LimitExceeded" in caplog.text
    assert "0 of 2 random points; on some it raised LimitExceeded: " in str(raised.value)


@pytest.mark.parametrize("spec", [
    "-" * 3000 + "batch_size > 0",   # Python's own parser gives up
    "not " * 60 + "batch_size",      # parsed, but deeper than the limit
    "batch_size < 1" + " + 1" * 60,   # a long left-nested chain
    "batch_size in (" + ", ".join(["1"] * 1200) + ")",  # too many parts
])
def test_a_deep_or_large_expression_is_refused_when_read(spec):
    with pytest.raises(SweeperConfigError) as raised:
        compile_constraint(spec, NAMES)
    assert str(raised.value).startswith(f"hydra.sweeper.constraint={spec!r}: must nest at most 50 levels "
                                        "and have at most 1000 parts")


def test_the_bounded_operators_keep_python_semantics():
    assert holds("2 ** 10 == 1024 and 2 ** -1 == 0.5 and (-1) ** 10**9 == 1 and 0 ** 10**9 == 0")
    assert holds("'ab' * 3 == 'ababab' and 3 * [1] == [1, 1, 1] and (1,) + (2,) == (1, 2)")
    assert holds("batch_size % 5 == 2 and -7 % 3 == 2 and 1.5 + 2 == 3.5 and 'a' + 'b' == 'ab'")
    assert holds("round(1234, -2) == 1200 and round(2.675, 2) == 2.67 and round(2.5) == 2")
    assert holds("2 ** 9999 > 0 and 'x' * 10000 != ''")  # at the limits
    # a type error is still Python's: not satisfied
    assert holds("optimizer % 2 == 0") is False


def test_the_lookup_of_a_dotted_path_logs_nothing_of_its_own(caplog):
    with caplog.at_level(logging.DEBUG), pytest.raises(SweeperConfigError):
        compile_constraint("no_such_pkg_xyz.checks.valid", NAMES)
    assert caplog.records == []
