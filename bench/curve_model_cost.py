"""What the model of the learning curves costs at the sweep sizes issue 45 names: CPU seconds
of a fit, of an update (new points, same hyperparameters) and of one trial's stop plan, at 50
and 200 trials of up to 30 steps (a third run to the end, the rest stopped at a random step),
over a space of a real, a log-scaled real, an integer and a categorical.

    .venv/bin/python bench/curve_model_cost.py
"""
import math
import time

import numpy as np
from skopt.space import Categorical, Integer, Real, Space

from hydra_skopt_sweeper.search.columns import ColumnLayout
from hydra_skopt_sweeper.search.curve_model import CurveModel, grid_steps, stop_plan

T = 30


def main() -> None:
    rng = np.random.RandomState(0)
    layout = ColumnLayout.of(Space([Real(0, 1), Real(1e-4, 1, prior="log-uniform"), Integer(1, 8),
                                    Categorical(["a", "b", "c"])]))
    trials = {}
    for n in range(200):
        point = [rng.rand(), 10 ** rng.uniform(-4, 0), int(rng.randint(1, 9)), str(rng.choice(["a", "b", "c"]))]
        final = (point[0] - 0.3) ** 2
        steps = T if rng.rand() < 0.3 else int(rng.randint(1, T))
        trials[n] = (point, [(t, final + math.exp(-(t + 1) / 5) + 0.01 * rng.randn()) for t in range(steps)])
    checks = [s for s in grid_steps(T) if 4 <= s < T - 1]
    for size in (50, 200):
        subset = dict(list(trials.items())[:size])
        started = time.process_time()
        model = CurveModel(layout, T).fit(subset)
        fit = time.process_time() - started
        started = time.process_time()
        model.update(subset)
        update = time.process_time() - started
        started = time.process_time()
        stop_plan(model, trials[0][0], checks, 0.1, -1.64)
        plan = time.process_time() - started
        print(f"{size} trials ({model.n_points} points): fit {fit:.2f} s, update {update:.3f} s, plan {plan:.3f} s of CPU")


if __name__ == "__main__":
    main()
