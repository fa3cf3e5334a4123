"""The GP model at scale: which told points a fit and a posterior keep, and refits that run in a
background thread without changing what the same told values give."""
import copy
import pickle
import threading
from dataclasses import replace

import numpy as np
import pytest
from skopt.space import Real, Space

from hydra_skopt_sweeper.search import model as model_module
from hydra_skopt_sweeper.search.model import GPModel, kept_rows
from hydra_skopt_sweeper.search.policy import Policy

SPACE = Space([Real(0.0, 1.0), Real(0.0, 1.0)])
# small counts, so that the background refits and the kept rows show within a few dozen points
SMALL = replace(Policy(), refit_every_below=20, refit_growth=0.2, fit_max_points=24, condition_max_points=30)


def data(n: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 2)
    y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.randn(n)
    return X, (y - y.mean()) / y.std()


def thetas(model: GPModel, X, y, counts):
    """The kernel hyperparameters of the posterior at each count of told points."""
    return [np.array(model.fit(X[:n], y[:n]).kernel.theta) for n in counts]


def test_every_row_is_kept_up_to_the_limit():
    assert kept_rows(np.arange(5.0), 5).tolist() == [0, 1, 2, 3, 4]


def test_past_the_limit_the_best_half_is_kept_and_the_rest_spread_over_the_sweep():
    y = np.random.RandomState(1).rand(100)
    rows = kept_rows(y, 20)
    assert len(rows) == 20 and len(set(rows)) == 20 and list(rows) == sorted(rows)
    assert set(np.argsort(y)[:10]) <= set(rows)
    others = sorted(set(rows) - set(np.argsort(y)[:10]))
    assert others[0] == min(set(range(100)) - set(np.argsort(y)[:10]))  # the spread starts at the start
    assert others[-1] == max(set(range(100)) - set(np.argsort(y)[:10]))  # and reaches the end


def test_a_posterior_past_condition_max_points_keeps_the_best_points():
    X, y = data(60)
    posterior = GPModel(SPACE, 0, policy=SMALL).fit(X, y)
    assert len(posterior.X) == SMALL.condition_max_points
    best = X[np.argsort(y)[:SMALL.condition_max_points // 2]]
    assert all(any(np.array_equal(row, kept) for kept in posterior.X) for row in best)


def test_a_fit_past_fit_max_points_is_given_only_that_many(monkeypatch):
    sizes = []
    original = GPModel._map_fit

    def counting(self, X, y, warp, theta):
        sizes.append(len(y))
        return original(self, X, y, warp, theta)

    monkeypatch.setattr(GPModel, "_map_fit", counting)
    X, y = data(60)
    GPModel(SPACE, 0, policy=SMALL).fit(X, y)
    assert sizes == [SMALL.fit_max_points]


def test_a_refit_runs_in_the_background_and_is_taken_up_at_the_next_refit_count(monkeypatch):
    where = []
    release = threading.Event()
    original = GPModel._map_fit

    def watched(self, X, y, warp, theta):
        where.append((len(y), threading.current_thread().name))
        if threading.current_thread() is not threading.main_thread():
            assert release.wait(60)
        return original(self, X, y, warp, theta)

    monkeypatch.setattr(GPModel, "_map_fit", watched)
    X, y = data(40)
    model = GPModel(SPACE, 0, policy=SMALL)
    first = model.fit(X[:20], y[:20]).kernel.theta  # the first fit: nothing to go on with, so here
    # due at 20 * 1.2 = 24: started in the background; this posterior keeps the first fit's kernel
    at_24 = model.fit(X[:24], y[:24]).kernel.theta
    assert not release.is_set() and np.array_equal(at_24, first)
    release.set()
    assert np.array_equal(model.fit(X[:26], y[:26]).kernel.theta, first)  # not due before 29
    at_29 = model.fit(X[:29], y[:29]).kernel.theta
    assert not np.array_equal(at_29, first)
    assert where[:2] == [(20, "MainThread"), (24, "skopt-gp-refit")]
    model.close()


def test_the_same_told_values_give_the_same_models_however_long_the_refits_take(monkeypatch):
    X, y = data(50)
    counts = [20, 22, 24, 26, 29, 31, 35, 40, 42, 45, 50]
    quick = thetas(GPModel(SPACE, 0, policy=SMALL), X, y, counts)
    original = GPModel._map_fit

    def slow(self, *args):
        if threading.current_thread() is not threading.main_thread():
            threading.Event().wait(0.2)
        return original(self, *args)

    monkeypatch.setattr(GPModel, "_map_fit", slow)
    slowed = thetas(GPModel(SPACE, 0, policy=SMALL), X, y, counts)
    assert all(np.array_equal(a, b) for a, b in zip(quick, slowed))
    assert len({tuple(t) for t in quick}) > 2  # the refits did change the model


def test_a_refit_that_fails_in_its_thread_is_redone_in_the_callers(monkeypatch):
    X, y = data(40)
    counts = [20, 24, 29, 35]
    expected = thetas(GPModel(SPACE, 0, policy=SMALL), X, y, counts)
    original = GPModel._map_fit

    def fails_off_main(self, *args):
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeWarning("turned into an error by -Werror")
        return original(self, *args)

    monkeypatch.setattr(GPModel, "_map_fit", fails_off_main)
    got = thetas(GPModel(SPACE, 0, policy=SMALL), X, y, counts)
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_a_model_with_a_refit_running_copies_and_goes_on_as_the_original(duplicate):
    X, y = data(40)
    model = GPModel(SPACE, 0, policy=SMALL)
    thetas(model, X, y, [20, 24])  # a refit started at 24
    twin = duplicate(model)
    assert np.array_equal(thetas(twin, X, y, [29, 35])[1], thetas(model, X, y, [29, 35])[1])


def test_below_refit_every_below_every_refit_is_in_the_callers_thread(monkeypatch):
    names = []
    original = GPModel._map_fit
    monkeypatch.setattr(GPModel, "_map_fit", lambda self, *a: names.append(threading.current_thread().name)
                        or original(self, *a))
    X, y = data(19)
    thetas(GPModel(SPACE, 0, policy=SMALL), X, y, range(5, 20))
    assert names and set(names) == {"MainThread"}


def test_no_refit_thread_is_left_once_closed():
    X, y = data(30)
    model = GPModel(SPACE, 0, policy=SMALL)
    thetas(model, X, y, [20, 24])
    model.close()
    assert not any(t.name == "skopt-gp-refit" and t.is_alive() for t in threading.enumerate())


def test_an_async_refill_is_answered_while_the_refit_it_started_is_still_running(monkeypatch):
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    release = threading.Event()
    original = GPModel._map_fit

    def held(self, *args):
        if threading.current_thread() is not threading.main_thread():
            assert release.wait(60)
        return original(self, *args)

    monkeypatch.setattr(GPModel, "_map_fit", held)
    proposer = BatchProposer(list(SPACE.dimensions), n_initial_points=5, random_state=0, policy=SMALL)
    X, y = data(20)
    proposer.tell(X.tolist(), y.tolist())
    running = proposer.ask(3)
    for value in (0.5, 0.4, 0.3, 0.2, 0.1):  # the refit due at 24 told points starts at the fourth
        proposer.tell([running.pop(0)], [value])
        running += proposer.ask(1)  # answered with the last hyperparameters while that refit is held
    assert not release.is_set()
    assert any(t.name == "skopt-gp-refit" and t.is_alive() for t in threading.enumerate())
    release.set()


def test_no_refit_is_started_while_another_is_running(monkeypatch):
    # a log-scale column makes warp choices come due too (every 25% growth) besides the refits
    started = []
    original = model_module.BackgroundFit.__init__

    def recording(self, work, due):
        running = [fit for fit in started if fit._work is not None]
        assert not running, f"a refit started at due {due} while one due at {running[0].due} was running"
        started.append(self)
        original(self, work, due)

    monkeypatch.setattr(model_module.BackgroundFit, "__init__", recording)
    X, y = data(60)
    model = GPModel(Space([Real(1e-4, 1.0), Real(0.0, 1.0)]), 0, warp_columns={0: 1e4 - 1}, policy=SMALL)
    thetas(model, X, y, range(20, 61))
    assert len(started) >= 3
    model.close()
