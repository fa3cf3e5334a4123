"""Bad input stops a sweep before any trial, naming the field, the value and what is allowed.

Every case runs the sweeper in this process (Hydra's own in-process runner, the sphere app's
config): the whole list costs what one sweep in a subprocess costs. tests/test_robustness.py runs
a few of them as a user does, in a subprocess, for what Hydra prints (one line, no traceback).
"""
from pathlib import Path
from typing import Any, List

import pytest

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"


def not_a_choice(field: str, value: str, allowed: str) -> str:
    """OmegaConf's refusal of a value outside a closed choice (an Enum of the schema)."""
    return f"Invalid value '{value}', expected one of [{allowed}]\n    full_key: hydra.sweeper.{field}"


def messages(error: BaseException) -> str:
    """An error and the errors it came from, as Hydra prints them."""
    seen: List[str] = []
    while error is not None:
        seen.append(str(error))
        error = error.__cause__ or error.__context__
    return "\n".join(seen)


@pytest.mark.parametrize("overrides, message", [
    (["x=interval(2, 1)"], "low=2.0 must be smaller than high=1.0"),
    (["x=tag(log, interval(0, 1))"], "a log scale needs low > 0, got low=0.0"),
    (["x=choice()"], "x"),
    (["+hydra.sweeper.params.z={type: real, low: 0, high: 1, prior: normal}"], "prior='normal': must be one of uniform, log-uniform"),
    (["+hydra.sweeper.params.z={type: gaussian, low: 0, high: 1}"], "type='gaussian': must be one of real, int, categorical"),
    (["hydra.sweeper.n_calls=0"], "hydra.sweeper.n_calls=0: must be an integer >= 1"),
    (["hydra.sweeper.step_budget=0"], "hydra.sweeper.step_budget=0: must be an integer >= 1"),
    (["hydra.sweeper.acq_func=UCB"], not_a_choice("acq_func", "UCB", "EI, PI, LCB, gp_hedge")),
    (["hydra.sweeper.batch_strategy=kriging"], not_a_choice("batch_strategy", "kriging", "fantasies, kb_ucb, cl_min, cl_mean, cl_max")),
    (["hydra.sweeper.on_failure=ignore"], not_a_choice("on_failure", "ignore", "penalize, skip, raise")),
    (["hydra.sweeper.constraint='y >'"], "hydra.sweeper.constraint"),
    (["hydra.sweeper.constraint='y < w'"], "w"),
    (["hydra.sweeper.constraint='y.__class__ is None'"], "hydra.sweeper.constraint"),
    (["hydra.sweeper.constraint='open(y) == 1'"], "open"),
    (["hydra.sweeper.constraint=no_such_module.check"], "no_such_module"),
    (["hydra.sweeper.constraint='y > 5'"], "no point of the search space satisfies it"),
    (["hydra.sweeper.scheduling=eager"], not_a_choice("scheduling", "eager", "async, batch")),
    (["hydra.sweeper.devices=[]"], "hydra.sweeper.devices=[]: must be a non-empty list of device ids"),
    (["hydra.sweeper.devices=7"], "hydra.sweeper.devices"),
    (["hydra.sweeper.devices=[0,1,0]"], "hydra.sweeper.devices=[0, 1, 0]: 0 listed more than once"),
    (["hydra.sweeper.devices=[0,1]", "hydra.sweeper.device_override=trainer.gpus"],
     "hydra.sweeper.device_override='trainer.gpus': must be an override with {device}"),
    (["hydra.sweeper.devices=[0,1]", "hydra.sweeper.batch_size=3"],
     "hydra.sweeper.batch_size=3: must be <= the 2 device(s) in hydra.sweeper.devices=[0, 1]"),
    (["hydra.sweeper.pruner.rule=asha"], not_a_choice("pruner.rule", "asha", "successive_halving, median, hyperband, forecast")),
    (["hydra.sweeper.pruner.reduction_factor=1"], "hydra.sweeper.pruner.reduction_factor=1: must be an integer >= 2"),
    (["hydra.sweeper.pruner.min_steps=0"], "hydra.sweeper.pruner.min_steps=0: must be an integer >= 1"),
    (["hydra.sweeper.pruner.min_trials=0"], "hydra.sweeper.pruner.min_trials=0: must be an integer >= 1"),
    (["x=interval(1, inf)"], "command line 'x=interval(1, inf)': high=inf must be a finite number"),
    (["x=interval(-1e308, 1e308)"], "high - low = 1e+308 - (-1e+308) must be a finite number"),
    (["x=int(interval(0, 1e30))"], "high=1000000000000000019884624838656 must be an integer within +-2**53"),
    (["x=range(0, 1, 0)"], "command line 'x=range(0, 1, 0)': range(0, 1, 0): the step must not be 0"),
    (["+hydra.sweeper.params.z={type: real, low: 0, high: inf}"], "hydra.sweeper.params.z.high=inf: must be a finite number"),
    (["+hydra.sweeper.params.hydra.sweep.subdir='choice(a, b)'"], "hydra.sweeper.params.hydra={'sweep': {'subdir': 'choice(a, b)'}}: must not be a hydra.* key"),
    (["hydra.sweeper.constraint='9**9**9 > y'"], "'9**9**9' is too large to compute"),
    (["hydra.sweeper.constraint='(\"a\" * 10**9) != y'"], "is too large to compute (a repeat over 10000 items)"),
    (["hydra.sweeper.constraint='" + "-" * 3000 + "y > 0'"], "must nest at most 50 levels"),
    (["hydra.sweeper.base_estimator=GBRT"], "Invalid value 'GBRT', expected one of [GP, RF, ET]"),
    (["hydra.sweeper.random_state=99999999999999999999"],
     "hydra.sweeper.random_state=99999999999999999999: must be an integer from 0 to 4294967295"),
    # conditional parameters
    (["opt=choice(adam,sgd)", "+hydra.sweeper.params.momentum={sweep: 'interval(0.5, 0.99)', when: 'opt == sgd'}"],
     "a string needs quotes, e.g. opt == 'sgd'"),
    (["opt=choice(adam,sgd)", "+hydra.sweeper.params.momentum={sweep: 'interval(0.5, 0.99)', when: 'lr > 0'}"],
     "unknown name 'lr'"),
    (["opt=choice(adam,sgd)",
      "+hydra.sweeper.params.momentum={sweep: 'interval(0.5, 0.99)', type: real, when: \"opt == 'sgd'\"}"],
     "sweep takes the place of ['type']"),
    (["opt=choice(adam,sgd)", "+hydra.sweeper.params.momentum={sweep: '0.5', when: \"opt == 'sgd'\"}"], "not a sweep"),
    (["+search=conditional", "hydra.sweeper.constraint='momentum < 0.95'"], "names momentum, which is conditional"),
])
def test_bad_input_is_refused_before_any_trial(hydra_sweep_runner, hydra_restore_singletons, tmp_path,
                                               overrides, message):
    ran: List[Any] = []
    sweep = hydra_sweep_runner(calling_file=str(APP), calling_module=None, task_function=ran.append,
                               config_path=".", config_name="config", temp_dir=tmp_path,
                               overrides=["hydra/sweeper=skopt_gp", "hydra.sweeper.random_state=0",
                                          "hydra.sweeper.plots=false", "y=interval(-2, 2)", *overrides])
    with pytest.raises(Exception) as refused:
        with sweep:
            pass
    assert message in messages(refused.value)
    assert ran == [] and not (tmp_path / "trials.jsonl").exists()
