"""Unit tests: Hydra sweep syntax and skopt specs -> skopt dimensions, and back."""
import numpy as np
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from skopt.space import Categorical, Integer, Real

from hydra_skopt_sweeper.errors import SweeperConfigError
from hydra_skopt_sweeper.problem.search_space import SearchSpace, build_search_space, format_value


def only_param(params=None, arguments=()):
    space = build_search_space(params or {}, list(arguments))
    assert len(space.params) == 1, space.params
    return space, space.params[0]


def test_interval_is_real():
    _, p = only_param({"lr": "interval(0.1, 2)"})
    dim = p.dimension()
    assert isinstance(dim, Real) and (dim.low, dim.high, dim.prior) == (0.1, 2.0, "uniform")


def test_int_interval_is_integer_with_both_ends():
    _, p = only_param({"n": "int(interval(1, 5))"})
    dim = p.dimension()
    assert isinstance(dim, Integer) and (dim.low, dim.high) == (1, 5)


def test_tag_log_on_real_and_int():
    _, p = only_param({"lr": "tag(log, interval(1e-4, 1e-1))"})
    assert p.dimension().prior == "log-uniform"
    _, p = only_param({"n": "tag(log, int(interval(2, 64)))"})
    assert isinstance(p.dimension(), Integer) and p.dimension().prior == "log-uniform"


@pytest.mark.parametrize("text", ["tag(log, interval(0, 1))", "tag(log, interval(-1, 1))",
                                  "tag(log, int(interval(0, 8)))"])
def test_log_with_low_not_positive_is_refused(text):
    with pytest.raises(SweeperConfigError, match="log scale needs low > 0"):
        build_search_space({"lr": text}, [])


@pytest.mark.parametrize("text", ["interval(1, 1)", "interval(2, 1)"])
def test_interval_low_must_be_below_high(text):
    with pytest.raises(SweeperConfigError, match=r"hydra.sweeper.params.lr.*low=.*smaller than high"):
        build_search_space({"lr": text}, [])


def test_range_step_one_is_integer_end_excluded():
    _, p = only_param({"n": "range(1, 5)"})
    dim = p.dimension()
    assert isinstance(dim, Integer) and (dim.low, dim.high) == (1, 4)


def test_range_with_step_is_an_exact_grid():
    space, p = only_param({"h": "range(32, 257, 32)"})
    assert p.choices == (32, 64, 96, 128, 160, 192, 224, 256)
    dim = p.dimension()
    assert isinstance(dim, Integer) and (dim.low, dim.high) == (0, 7)
    for x in dim.rvs(50, random_state=0):
        value = space.to_params([x])["h"]
        assert value in p.choices and isinstance(value, int)
    assert space.to_overrides({"h": 96}) == ["h=96"]


def test_negative_range_and_negative_step():
    _, p = only_param({"n": "range(-3, 2)"})
    assert (p.dimension().low, p.dimension().high) == (-3, 1)
    _, p = only_param({"n": "range(10, 0, -4)"})
    assert p.choices == (10, 6, 2)


def test_float_step_grid_has_no_rounding_noise():
    space, p = only_param({"d": "range(0.1, 0.5, 0.1)"})
    assert p.choices == (0.1, 0.2, 0.3, 0.4)
    assert space.to_overrides({"d": 0.3}) == ["d=0.3"]


def test_empty_range_is_refused():
    with pytest.raises(SweeperConfigError, match="is empty"):
        build_search_space({"n": "range(5, 1)"}, [])


# -- bounds that cannot be searched: refused before launch, naming the parameter

@pytest.mark.parametrize("text, message", [
    ("interval(1, inf)", "high=inf must be a finite number"),
    ("interval(-inf, 1)", "low=-inf must be a finite number"),
    ("interval(nan, 1)", "low=nan must be a finite number"),
    ("interval(-1e308, 1e308)", "high - low = 1e+308 - (-1e+308) must be a finite number"),
    ("int(interval(0, 1e30))", "high=1000000000000000019884624838656 must be an integer within +-2**53"),
    ("int(interval(-9007199254740994, 0))", "low=-9007199254740994 must be an integer within"),
    ("tag(log, int(interval(1, 1e30)))", "must be an integer within"),
    ("range(0, 1, 0)", "range(0, 1, 0): the step must not be 0"),
    ("range(0.0, 1, 0)", "the step must not be 0"),
    ("range(0, inf, 1.0)", "stop=inf must be a finite number"),
    ("range(0, 1" + "0" * 30 + ")", "high=" + "9" * 30 + " must be an integer within"),
    ("range(0, 1e9, 0.5)", "has 2000000000 points; a grid must have at most 100000"),
    ("range(0, 1" + "0" * 30 + ", 2)", "points; a grid must have at most 100000"),
    ("choice(1, inf)", "the option inf must hold finite numbers only"),
    ("choice([1, nan], 2)", "the option [1,nan] must hold finite numbers only"),
])
def test_bounds_that_cannot_be_searched_are_refused_naming_the_parameter(text, message):
    with pytest.raises(SweeperConfigError) as info:
        build_search_space({"x": text}, [])
    assert str(info.value).startswith("hydra.sweeper.params.x") and message in str(info.value)
    with pytest.raises(SweeperConfigError) as info:
        build_search_space({}, [f"x={text}"])
    assert str(info.value).startswith(f"command line 'x={text}'") and message in str(info.value)


@pytest.mark.parametrize("spec, message", [
    ({"type": "real", "low": 0, "high": float("inf")}, "x.high=inf: must be a finite number"),
    ({"type": "real", "low": float("nan"), "high": 1}, "x.low=nan: must be a finite number"),
    ({"type": "int", "low": 0, "high": float("inf")}, "x.high=inf: must be a finite number"),
    ({"type": "int", "low": float("nan"), "high": 3}, "x.low=nan: must be a finite number"),
    ({"type": "int", "low": 0, "high": 1e30}, "high=1000000000000000019884624838656 must be an integer"),
    ({"type": "real", "low": 0, "high": 10**400}, "x.high=" + "1" + "0" * 400 + ": must be a finite number"),
    ({"type": "real", "low": -1e308, "high": 1e308}, "high - low"),
    ({"type": "categorical", "choices": [1, float("nan")]}, "x.choices: the option nan must hold finite"),
])
def test_typed_mappings_with_bounds_that_cannot_be_searched_are_refused(spec, message):
    with pytest.raises(SweeperConfigError, match="hydra.sweeper.params.x") as info:
        build_search_space({"x": spec}, [])
    assert message in str(info.value)


@pytest.mark.parametrize("text, low, high", [
    ("int(interval(-9007199254740992, 9007199254740992))", -2**53, 2**53),
    ("interval(-8e307, 8e307)", -8e307, 8e307),
    ("range(0, 1" + "0" * 30 + ", 1" + "0" * 29 + ")", None, None),
])
def test_the_largest_searchable_bounds_sample_and_round_trip(text, low, high):
    space, p = only_param({"x": text})
    if low is not None:
        assert (p.low, p.high) == (low, high)
    for x in p.dimension().rvs(20, random_state=0):
        assert space.to_point(space.to_params([x])) == [x]


def test_a_large_integer_range_is_not_listed():
    _, p = only_param({"n": "range(0, 9007199254740993)"})
    assert (p.kind, p.low, p.high) == ("int", 0, 2**53)


@pytest.mark.parametrize("key", ["hydra.sweep.subdir", "hydra.job.chdir", "+hydra.foo", "hydra/launcher", "hydra"])
@pytest.mark.parametrize("value", ['choice("../../a", "../../b")', "../../a", {"type": "categorical", "choices": ["a", "b"]}])
def test_hydra_keys_are_refused_in_params(key, value):
    with pytest.raises(SweeperConfigError) as info:
        build_search_space({"x": "interval(0, 1)", key: value}, [])
    assert str(info.value).startswith(f"hydra.sweeper.params.{key}=")
    assert "must not be a hydra.* key" in str(info.value)


def test_single_value_range_and_choice_are_fixed():
    space = build_search_space({"n": "range(3, 4)", "opt": "choice(adam)"}, [])
    assert space.params == []
    assert space.fixed_overrides == ["n=3", "opt=adam"]
    assert space.fixed_values == {"n": 3, "opt": "adam"}


def test_choice_and_simple_list_are_categorical_and_keep_types():
    space = build_search_space({"act": "choice(relu, tanh)"}, ["bs=32,64"])
    act, bs = space.params
    assert isinstance(act.dimension(), Categorical)
    assert bs.choices == (32, 64) and bs.labels == ("32", "64")
    params = space.to_params(["tanh", "64"])
    assert params == {"act": "tanh", "bs": 64} and isinstance(params["bs"], int)
    assert space.to_overrides(params) == ["act=tanh", "bs=64"]


def test_config_group_choice():
    space, p = only_param(arguments=["opt=choice(adam,sgd)"])
    assert p.name == "opt" and space.to_overrides({"opt": "sgd"}) == ["opt=sgd"]


def test_quoted_choice_keeps_its_quotes():
    space, p = only_param({"word": "choice('a b', 'true', c)"})
    assert p.choices == ("a b", "true", "c")
    assert space.to_overrides({"word": "true"}) == ["word='true'"]


def test_skopt_mapping_specs():
    space = build_search_space(
        {
            "lr": {"type": "real", "low": 1e-4, "high": 1e-1, "prior": "log-uniform"},
            "n": {"type": "int", "low": 1, "high": 8},
            "act": {"type": "categorical", "choices": ["relu", "gelu", 3]},
        },
        [],
    )
    lr, n, act = (p.dimension() for p in space.params)
    assert isinstance(lr, Real) and lr.prior == "log-uniform"
    assert isinstance(n, Integer) and (n.low, n.high) == (1, 8)
    assert isinstance(act, Categorical)
    assert space.to_overrides({"lr": 0.001, "n": 2, "act": 3}) == ["lr=0.001", "n=2", "act=3"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "gaussian", "low": 0, "high": 1}, "type='gaussian'"),
        ({"type": "real", "low": 0, "high": 1, "prior": "normal"}, "prior='normal'"),
        ({"type": "real", "low": 1, "high": 0}, "smaller than high"),
        ({"type": "real", "low": 0, "high": 1, "prior": "log-uniform"}, "low > 0"),
        ({"type": "categorical", "choices": []}, "non-empty list"),
        ({"type": "real", "low": "a", "high": 1}, "must be a number"),
        ({"type": "int", "low": 0.5, "high": 3}, "integer bounds"),
        ({"type": "real", "low": 0, "high": 1, "step": 2}, "unknown key"),
    ],
)
def test_bad_mapping_specs_are_refused_with_the_field(spec, message):
    with pytest.raises(SweeperConfigError, match="hydra.sweeper.params.x") as info:
        build_search_space({"x": spec}, [])
    assert message in str(info.value)


def test_empty_choice_and_unparsable_text_are_refused():
    with pytest.raises(SweeperConfigError, match="x"):
        build_search_space({"x": "choice()"}, [])
    with pytest.raises(SweeperConfigError, match="cannot parse"):
        build_search_space({"x": "interval(0, "}, [])


def test_command_line_sweep_wins_over_params_and_a_single_choice_pins():
    space = build_search_space({"x": "interval(0, 1)", "y": "interval(0, 1)", "w": 3},
                               ["x=interval(5, 6)", "y=choice(0.5)", "z=hello", "w=4"])
    (x,) = space.params
    assert (x.low, x.high) == (5.0, 6.0)
    assert space.fixed_overrides == ["y=0.5", "w=4", "z=hello"]


def test_a_plain_value_on_the_command_line_pins_a_swept_param():
    space = build_search_space({"lr": "tag(log, interval(1e-4, 1))", "wd": {"type": "real", "low": 0, "high": 1},
                                "x": "interval(0, 1)"}, ["lr=0.1", "wd=0", "x=interval(2, 3)"])
    assert space.names == ["x"]
    assert space.fixed_overrides == ["lr=0.1", "wd=0"] and space.fixed_values == {"lr": 0.1, "wd": 0}
    assert space.describe_pins() == {"lr": "lr=0.1", "wd": "wd=0"}
    assert space.to_overrides(space.to_params([2.5])) == ["lr=0.1", "wd=0", "x=2.5"]
    notes = space.command_line_notes()
    assert notes[0] == ("lr: pinned to 'lr=0.1' by the command line, not searched "
                        "(configured: hydra.sweeper.params.lr=tag(log, interval(1e-4, 1)))")
    assert notes[2] == ("x: searched as 'x=interval(2, 3)' from the command line "
                        "(configured: hydra.sweeper.params.x=interval(0, 1))")


CONDITIONAL = {
    "optimizer": "choice(adam, sgd)",
    "momentum": {"sweep": "interval(0.8, 0.99)", "when": "optimizer == 'sgd'"},
    "nesterov": {"sweep": "choice(true, false)", "when": "momentum > 0.9"},
    "beta": {"sweep": "interval(0.9, 0.999)", "when": "optimizer == 'adam'"},
    "lr": "interval(0.001, 0.1)",
}


@pytest.mark.parametrize("pin, searched, always", [
    ("optimizer=sgd", ["momentum", "nesterov", "lr"], {"momentum": True, "beta": False}),
    ("optimizer=adam", ["beta", "lr"], {"momentum": False, "nesterov": False, "beta": True}),
])
def test_pinning_a_parent_decides_its_conditional_children(pin, searched, always):
    space = build_search_space(CONDITIONAL, [pin])
    assert space.names == searched
    assert {name: holds for name, (_, holds) in space.decided.items()} == always
    # a child the pin decided is searched unconditionally; one that depends on it stays conditional
    by_name = {p.name: p for p in space.params}
    assert all(by_name[name].when is None for name, holds in always.items() if holds)
    if "nesterov" in by_name:
        assert by_name["nesterov"].when == "momentum > 0.9"
        assert "nesterov" in space.to_params([0.95, "true", 0.01]) and "nesterov" not in space.to_params([0.85, "true", 0.01])
    assert any("its condition \"optimizer == 'sgd'\"" in note for note in space.command_line_notes())


def test_a_pin_that_breaks_the_constraint_is_refused_naming_both():
    space = build_search_space({"x": "interval(0, 1)", "y": "choice(0, 5)"}, ["y=5"])
    with pytest.raises(SweeperConfigError, match=r"constraint='x \+ y < 3': no point satisfies it with y=5 "
                                                  r"pinned on the command line .*pin a value the constraint allows"):
        space.compile_constraint("x + y < 3")
    assert space.compile_constraint("x + y < 9") is not None
    everything_pinned = build_search_space({"x": "interval(0, 1)"}, ["x=5"])
    with pytest.raises(SweeperConfigError, match=r"the fixed values \{'x': 5\} do not satisfy it \(x=5 pinned"):
        everything_pinned.compile_constraint("x < 3")


def test_the_same_key_twice_on_the_command_line_is_refused():
    with pytest.raises(SweeperConfigError, match="given twice"):
        build_search_space({}, ["x=1", "x=interval(0, 1)"])


def test_plain_overrides_pass_through_unchanged():
    space = build_search_space({}, ["a=1", "+b=two", "~c", "hydra.job.chdir=true"])
    assert space.params == []
    assert space.fixed_overrides == ["a=1", "+b=two", "~c", "hydra.job.chdir=true"]


def test_add_prefix_is_kept_in_the_override_key():
    space, p = only_param(arguments=["+extra=interval(0, 1)"])
    assert p.name == "extra"
    assert space.to_overrides({"extra": 0.5}) == ["+extra=0.5"]


def test_round_trip_point_params_point():
    space = build_search_space(
        {"lr": "tag(log, interval(1e-5, 1))", "h": "range(16, 129, 16)", "act": "relu,tanh",
         "n": "int(interval(1, 3))"}, [])
    dims = space.dimensions()
    for point in zip(*(d.rvs(20, random_state=1) for d in dims)):
        params = space.to_params(list(point))
        assert all(not isinstance(v, np.generic) for v in params.values())
        assert space.to_point(params) == [p.item() if isinstance(p, np.generic) else p for p in point]


def test_to_point_refuses_values_outside_the_space():
    space = build_search_space({"x": "interval(0, 1)", "act": "relu,tanh"}, [])
    with pytest.raises(ValueError, match="outside"):
        space.to_point({"x": 2.0, "act": "relu"})
    with pytest.raises(ValueError, match="not one of"):
        space.to_point({"x": 0.5, "act": "gelu"})


@pytest.mark.parametrize("value", [0.1, 1e-05, 1 / 3, 123456789.123, -2.5e-300, 3, True, None,
                                   "adam", "a b", "1.5", "null", "it's", "x=y", "a,b"])
def test_format_value_round_trips_through_hydras_grammar(value):
    parsed = OverridesParser.create().parse_override(f"k={format_value(value)}").value()
    assert parsed == value and type(parsed) is type(value)


def test_conditional_parameters_apply_only_where_their_condition_holds():
    space = build_search_space({
        "momentum": {"sweep": "interval(0.5, 0.99)", "when": "optimizer == 'sgd'"},
        "nesterov": {"sweep": "choice(true, false)", "when": "momentum > 0.9"},  # a chain
        "optimizer": "choice(adam, sgd)",
    }, ["lr=tag(log, interval(1e-4, 1e-1))"])
    space.check_conditions()
    names = space.names
    assert names == ["momentum", "nesterov", "optimizer", "lr"]
    point = {"optimizer": "adam", "momentum": 0.95, "nesterov": "true", "lr": 0.01}
    ordered = [point[n] for n in names]
    assert space.to_params(ordered) == {"optimizer": "adam", "lr": 0.01}
    assert space.to_overrides(space.to_params(ordered)) == ["optimizer=adam", "lr=0.01"]
    sgd = [dict(point, optimizer="sgd")[n] for n in names]
    assert space.to_params(sgd) == {"momentum": 0.95, "nesterov": True, "optimizer": "sgd", "lr": 0.01}
    slow = [dict(point, optimizer="sgd", momentum=0.6)[n] for n in names]
    assert "nesterov" not in space.to_params(slow)  # its parent is active, its own condition is not
    # inactive coordinates are one value, and a journal's params without them read back
    assert space.canonical(ordered) == space.to_point({"optimizer": "adam", "lr": 0.01})
    assert space.canonical(ordered) == [0.5, "true", "adam", 0.01]
    assert space.describe()["momentum"]["when"] == "optimizer == 'sgd'"
    assert SearchSpace.from_description(space.describe()).describe() == space.describe()


def test_an_unconditional_parameter_is_still_required_when_reading_params_back():
    space = build_search_space({"momentum": {"sweep": "interval(0.5, 0.99)", "when": "optimizer == 'sgd'"},
                                "optimizer": "choice(adam, sgd)"}, [])
    with pytest.raises(ValueError, match="no value for optimizer"):
        space.to_point({"momentum": 0.9})


def test_the_constraint_is_compiled_over_the_space_and_checked_there():
    space = build_search_space({"x": "interval(0, 1)", "optimizer": "choice(adam, sgd)",
                                "momentum": {"sweep": "interval(0.5, 0.99)", "when": "optimizer == 'sgd'"}},
                               ["+epochs=3"])
    constraint = space.compile_constraint("x < 0.5 and epochs == 3")
    assert constraint({"x": 0.2, "epochs": 3}) and not constraint({"x": 0.7, "epochs": 3})
    assert space.compile_constraint(None) is None
    with pytest.raises(SweeperConfigError, match="names momentum, which is conditional"):
        space.compile_constraint("momentum < 0.9")
    with pytest.raises(SweeperConfigError, match="no point of the search space satisfies it"):
        space.compile_constraint("x > 1")
    fixed_only = build_search_space({}, ["+epochs=3"])
    with pytest.raises(SweeperConfigError, match=r"the fixed values \{'epochs': 3\} do not satisfy it"):
        fixed_only.compile_constraint("epochs > 5")
