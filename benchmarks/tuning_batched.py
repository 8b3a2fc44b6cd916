"""Does a batched start pay in a search? ``lib-tf tune`` with and without ``--batched-start``.

Per data set and repeat, two Bayesian searches of LA-LIB with the same trial budget, seed and
objective, each a ``lib-tf tune`` child process (TensorFlow's start included: what a user
waits for), the side that goes first alternating:

- **alone**: every trial trains by itself (``--batched-start 0``);
- **batched**: the first K trials (the shipped settings, then alpha, beta and label dropout
  spread over the space) train as one batched fit, the rest by themselves.

Prints each search's wall time, its best objective and the trial that reached it, and the
ratio of the two wall times::

    LIB_TF_DATA=../shared/ldl python benchmarks/tuning_batched.py --datasets SJAFFE Yeast_spo5 \\
        --trials 16 --start 8 [--objective revealed] [--repeats 1]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lib_tf.tuning import SUMMARY_FILE


def search(dataset, trials, start, objective, seed, out) -> dict:
    """One ``lib-tf tune`` in a child process: its wall time and summary."""
    command = [sys.executable, "-m", "lib_tf.cli", "tune", "--dataset", dataset, "--model", "label-aware",
               "--tuner", "bayesian", "--trials", str(trials), "--objective", objective, "--seed", str(seed),
               "--batched-start", str(start), "--out", str(out), "--quiet"]
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    seconds = time.perf_counter() - began
    summary = json.loads((Path(out) / SUMMARY_FILE).read_text())
    return {"seconds": seconds, "best": summary["best_score"], "best_trial": summary["best_trial"],
            "trials": summary["trials_done"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["SJAFFE", "Yeast_spo5"])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--start", type=int, default=8, help="trials of the batched start")
    parser.add_argument("--objective", default="revealed", choices=("revealed", "truth-free"))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"| data set | repeat | side | wall s | best {args.objective} | best trial | trials |")
    print("|---|---|---|---|---|---|---|")
    order = 0
    for name in args.datasets:
        for repeat in range(args.repeats):
            sides = [("alone", 0), ("batched", args.start)]
            results = {}
            for side, start in sides if order % 2 == 0 else sides[::-1]:
                with tempfile.TemporaryDirectory() as out:
                    results[side] = search(name, args.trials, start, args.objective, args.seed, out)
                row = results[side]
                print(f"| {name} | {repeat} | {side} | {row['seconds']:.1f} | {row['best']:.5f} | {row['best_trial']} | "
                      f"{row['trials']} |", flush=True)
            order += 1
            print(f"| {name} | {repeat} | alone / batched | {results['alone']['seconds'] / results['batched']['seconds']:.2f}x"
                  " | | | |", flush=True)
    print("command: LIB_TF_DATA=../shared/ldl python benchmarks/tuning_batched.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
