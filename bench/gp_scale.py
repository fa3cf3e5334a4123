"""How the GP's decisions cost as a sweep grows to thousands of observations (issue 46).

    .venv/bin/python bench/gp_scale.py [--sizes 200,1000,2000,5000] [--slots 4] [--seed 0]

On Hartmann6 (6-d), for each size n, in a fresh process (so that its peak memory is its own):
tell n observations (random points), ask ``slots`` points (the running trials; this first ask
fits the model and is not counted), then run async refills over one whole refit period of the
model (``policy.refit_growth`` of n, at least 12): each refill is the async loop's work when a
trial returns, telling the oldest running point its value and asking one point with the other
``slots - 1`` pending. Then three batches of ``slots`` (ask + tell). Prints, per size:

* the refill's median and its largest (what a free slot waits for at worst);
* the refill's mean over the period (each decision with the refits amortised);
* the batch's median;
* the process's peak memory (VmHWM).

Writes results/gp_scale.md.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PROJECT_PYTHON, ROOT, peak_rss_mb, table, write_report  # noqa: E402
from refill import batch_times, loss, proposer_with  # noqa: E402

sys.path.insert(0, str(ROOT))
MIN_REFILLS = 12
BATCHES = 3


def measure(n: int, slots: int, seed: int) -> dict:
    """One size's figures, in this process."""
    from hydra_skopt_sweeper.search.policy import Policy

    proposer = proposer_with(n, seed)
    started = time.perf_counter()
    running = proposer.ask(slots)
    first = time.perf_counter() - started
    refills = []
    for _ in range(max(MIN_REFILLS, math.ceil(Policy().refit_growth * n) + 1)):
        started = time.perf_counter()
        done = running.pop(0)
        proposer.tell([done], [loss(done)])
        running.extend(proposer.ask(1))
        refills.append(time.perf_counter() - started)
    batches = batch_times(proposer, slots, BATCHES)
    return {"n": n, "first": first, "refills": refills, "batches": batches, "peak_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,2000,5000")
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.slots, args.seed)))
        return
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        out = subprocess.run([PROJECT_PYTHON, __file__, "--one", str(n), "--slots", str(args.slots),
                              "--seed", str(args.seed)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        refills = r["refills"]
        row = [n, f"{statistics.median(refills):.3f}", f"{max(refills):.3f}", f"{statistics.mean(refills):.3f}",
               len(refills), f"{statistics.median(r['batches']):.3f}", f"{r['first']:.2f}", f"{r['peak_mb']:.0f}"]
        rows.append(row)
        print(f"n={n}: refill median {row[1]} s, max {row[2]} s, mean {row[3]} s over {row[4]}; "
              f"batch of {args.slots} {row[5]} s; first fit {row[6]} s; peak {row[7]} MB", flush=True)
    text = table(["observations", "refill median (s)", "refill max (s)", "refill mean (s)", "refills",
                  f"batch of {args.slots} median (s)", "first ask (s)", "peak memory (MB)"], rows)
    print(text)
    write_report("gp_scale", "The GP's decisions as the sweep grows, Hartmann6",
                 "python bench/gp_scale.py " + " ".join(sys.argv[1:]),
                 [f"{args.slots} running trials; refills over one refit period (at least {MIN_REFILLS}), "
                  f"{BATCHES} batches per size; the first ask (the model's first fit) is not in the means.", text])


if __name__ == "__main__":
    main()
