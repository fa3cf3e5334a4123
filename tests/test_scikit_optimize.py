"""scikit-optimize's door (doors.scikit_optimize): ``gp_minimize`` and ``Optimizer`` with
scikit-optimize's signatures and results, on this project's proposer, and the knobs refused."""
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from skopt import dump, load
from skopt.callbacks import DeltaYStopper
from skopt.learning import RandomForestRegressor
from skopt.space import Integer, Real

from hydra_skopt_sweeper import Optimizer, gp_minimize


def bowl(x):
    return (x[0] - 0.3) ** 2 + (x[1] + 1.0) ** 2


@pytest.mark.slow  # two runs of 14 points: seconds of CPU
def test_gp_minimize_returns_scikit_optimizes_result_counting_x0_in_n_calls(tmp_path):
    result = gp_minimize(bowl, [(-2.0, 2.0), (-2.0, 2.0)], n_calls=14, n_initial_points=5, random_state=0,
                         x0=[[0.0, 0.0]])
    assert len(result.x_iters) == len(result.func_vals) == 14 and result.x_iters[0] == [0.0, 0.0]
    assert result.fun == min(result.func_vals) and result.x == result.x_iters[int(np.argmin(result.func_vals))]
    assert list(result.func_vals) == pytest.approx([bowl(x) for x in result.x_iters])
    assert result.fun < 0.05  # the GP closed in on (0.3, -1)
    assert result.specs["function"] == "base_minimize" and result.specs["args"]["n_calls"] == 14
    assert [d.bounds for d in result.space.dimensions] == [(-2.0, 2.0), (-2.0, 2.0)]
    dump(result, tmp_path / "result.pkl", store_objective=False)
    assert load(tmp_path / "result.pkl").fun == result.fun
    again = gp_minimize(bowl, [(-2.0, 2.0), (-2.0, 2.0)], n_calls=14, n_initial_points=5, random_state=0,
                        x0=[[0.0, 0.0]])
    assert again.x_iters == result.x_iters  # random_state: the same run


def test_gp_minimize_stops_when_a_callback_says_so_and_takes_y0_without_evaluating_x0():
    calls = []

    def counted(x):
        calls.append(list(x))
        return bowl(x)

    result = gp_minimize(counted, [(-2.0, 2.0), (-2.0, 2.0)], n_calls=30, random_state=1,
                         callback=DeltaYStopper(0.5, n_best=3))
    assert len(result.func_vals) < 30 and len(calls) == len(result.func_vals)
    calls.clear()
    result = gp_minimize(counted, [(-2.0, 2.0), (-2.0, 2.0)], n_calls=4, n_initial_points=2, random_state=1,
                         x0=[[1.0, 1.0], [0.5, -0.5]], y0=[bowl([1.0, 1.0]), bowl([0.5, -0.5])])
    assert len(calls) == 4 and len(result.func_vals) == 6  # x0 told with y0, then n_calls evaluations
    assert [1.0, 1.0] not in calls


@pytest.mark.slow  # eighteen points: about a second of CPU
def test_the_optimizer_asks_the_same_point_until_a_tell_and_batches_of_distinct_allowed_points():
    allowed = lambda p: p[1] % 2 == 1  # noqa: E731 - odd counts only
    opt = Optimizer([Real(-2.0, 2.0), Integer(1, 9), ["a", "b"]], n_initial_points=4, random_state=3,
                    space_constraint=allowed)
    first = opt.ask()
    assert opt.ask() == first and allowed(first)
    opt.tell(first, 1.0)
    for _ in range(5):
        batch = opt.ask(n_points=3)
        assert len({tuple(p) for p in batch}) == 3 and all(allowed(p) for p in batch)
        result = opt.tell(batch, [p[0] ** 2 + p[1] / 10 + (p[2] == "b") for p in batch])
    assert len(opt.Xi) == len(opt.yi) == 16 and result.fun == min(opt.yi)
    assert len({tuple(x) for x in opt.Xi}) == 16  # never the same point twice
    assert opt.ask(n_points=2, strategy="cl_mean") and opt.run(lambda p: p[0] ** 2, n_iter=2).func_vals.size == 18


def test_a_regressor_of_scikit_optimize_is_used_as_its_family_with_a_warning():
    with pytest.warns(UserWarning, match=r"RandomForestRegressor\(...\)\): used as this engine's RF model"):
        opt = Optimizer([(-2.0, 2.0)], base_estimator=RandomForestRegressor(n_estimators=7), n_initial_points=2,
                        random_state=0)
    for _ in range(4):
        x = opt.ask()
        opt.tell(x, x[0] ** 2)
    assert opt._proposer.base_estimator == "RF"


@pytest.mark.parametrize("call, message", [
    (lambda: gp_minimize(bowl, [(-2.0, 2.0)], xi=0.1), "gp_minimize(xi=0.1): this engine has no counterpart"),
    (lambda: gp_minimize(bowl, [(-2.0, 2.0)], n_points=500), "gp_minimize(n_points=500): this engine has no counterpart"),
    (lambda: gp_minimize(bowl, [(-2.0, 2.0)], noise=0.01), "gp_minimize(noise=0.01): this engine estimates the noise"),
    (lambda: gp_minimize(bowl, [(-2.0, 2.0)], base_estimator="GBRT"), "Optimizer(base_estimator='GBRT'): must be 'GP', 'RF' or 'ET'"),
    (lambda: Optimizer([(-2.0, 2.0)], avoid_duplicates=False), "Optimizer(avoid_duplicates=False): this engine never proposes a point twice"),
    (lambda: Optimizer([(-2.0, 2.0)], model_queue_size=3), "Optimizer(model_queue_size=3): this engine keeps no fitted models"),
    (lambda: Optimizer([(-2.0, 2.0)], acq_func="EIps"), "Optimizer: acq_func='EIps': must be one of EI, PI, LCB, gp_hedge"),
    (lambda: Optimizer([(-2.0, 2.0)], acq_func_kwargs={"xi": 0.5}), "Optimizer(acq_func_kwargs['xi']=0.5)"),
    (lambda: Optimizer([(-2.0, 2.0)]).ask(2, strategy="kb"), "Optimizer.ask(strategy='kb'): must be 'cl_min', 'cl_mean' or 'cl_max'"),
    (lambda: Optimizer([(-2.0, 2.0)]).tell([3.0], 1.0), "Optimizer.tell: the point [3.0] is not within the space"),
    (lambda: Optimizer([(-2.0, 2.0)]).tell([1.0], float("nan")), "Optimizer.tell: the values must be finite"),
])
def test_a_knob_this_engine_has_no_counterpart_for_is_refused_naming_it(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert message in str(raised.value)


def test_the_defaults_scikit_optimize_scripts_pass_are_accepted():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = gp_minimize(bowl, [(-2.0, 2.0), (-2.0, 2.0)], n_calls=3, n_initial_points=3, xi=0.01, kappa=1.96,
                             n_points=10000, n_restarts_optimizer=5, noise="gaussian", acq_optimizer="lbfgs",
                             random_state=0)
    assert len(result.func_vals) == 3


@pytest.mark.slow
def test_a_scikit_optimize_script_with_one_import_changed_runs_and_prints_as_before(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(textwrap.dedent("""
        from hydra_skopt_sweeper import gp_minimize   # was: from skopt import gp_minimize
        from skopt.space import Real, Categorical

        def f(params):
            lr, act = params
            return (lr - 0.01) ** 2 * 1e4 + (0.0 if act == "relu" else 0.3)

        res = gp_minimize(f, [Real(1e-4, 1e-1, prior="log-uniform", name="lr"),
                              Categorical(["relu", "tanh"], name="act")],
                          n_calls=12, n_initial_points=4, random_state=0, verbose=True)
        print("best", res.x, round(res.fun, 4))
    """))
    done = subprocess.run([sys.executable, "-W", "error", str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Iteration No: 12 ended." in done.stdout and "Current minimum:" in done.stdout
    assert "best [" in done.stdout and "'relu'" in done.stdout.split("best")[-1]
