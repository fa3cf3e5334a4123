"""Quick in-process check of the proposer (no Hydra, no subprocess): regret at the budget and
seconds per run. For tuning the proposer; the anchors are in sample_efficiency.py.

    .venv/bin/python bench/quick.py --problems hartmann6 --seeds 10 --acq EI [--batch 4] [--gpmin]
        [--first-seed 30]

Also prints how many runs ended at a regret of 0.1 or more: on Hartmann6 those ended in a local
basin (the nearest local minimum is 0.12 above the global one), which is what moves its median.
"""
import sys, time, argparse
import numpy as np
sys.path.insert(0, "bench"); sys.path.insert(0, ".")
from problems import PROBLEMS
from hydra_skopt_sweeper.proposer import BatchProposer

ap = argparse.ArgumentParser()
ap.add_argument("--problems", default="branin,hartmann6,mixed")
ap.add_argument("--seeds", type=int, default=5)
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--acq", default="EI")
ap.add_argument("--gpmin", action="store_true")
ap.add_argument("--strategy", default="kb_ucb")
ap.add_argument("--first-seed", type=int, default=0)
a = ap.parse_args()
for name in a.problems.split(","):
    pr = PROBLEMS[name]
    regrets, secs = [], []
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        t = time.perf_counter()
        if a.gpmin:
            from skopt import gp_minimize
            import warnings; warnings.simplefilter("ignore")
            r = gp_minimize(lambda x: pr.evaluate(pr.point_params(x)), pr.dimensions(), n_calls=pr.budget,
                            n_initial_points=10, initial_point_generator="sobol", random_state=seed)
            best = r.fun
        else:
            p = BatchProposer(pr.dimensions(), n_initial_points=10, acq_func=a.acq, batch_strategy=a.strategy, random_state=seed,
                              n_calls=pr.budget)
            best = np.inf
            n = 0
            while n < pr.budget:
                pts = p.ask(min(a.batch, pr.budget - n))
                ys = [pr.evaluate(pr.point_params(x)) for x in pts]
                p.tell(pts, ys); n += len(pts); best = min(best, *ys)
        regrets.append(best - pr.optimum); secs.append(time.perf_counter() - t)
    q = np.percentile(regrets, [25, 50, 75])
    print(f"{name:10s} acq={a.acq} b={a.batch} median={q[1]:.4g} q25={q[0]:.4g} q75={q[2]:.4g} s/run={np.mean(secs):.1f} "
          f"regret>=0.1: {int(np.sum(np.array(regrets) >= 0.1))}/{len(regrets)}", flush=True)
