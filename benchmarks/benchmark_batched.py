"""Wall time of recomputing the benchmark's LA-LIB runs (``lib-tf benchmark --methods LA-LIB``)
with every fit alone (before: each seed's truth-free fit, its fold models one after another)
and with all of a data set's runs as members of one batched fit (after: the seeds' models and
fold models side by side, ``MethodSpec.fit_many``). ``--method LIB``: the paper model's runs
instead (its alpha x beta grid x the seeds: each fit alone, or all of them in one graph).

Each side recomputes every run of the method on the data set (its grid x the seeds) from
nothing (a fresh run store, the fit cache emptied), per
repeat the side that goes first alternating, in this process (TensorFlow's import excluded).
Printed: each side's wall time per data set, the medians and their ratio, and the largest
difference between the sides' stored figures (every read-out, all six measures), run by run.

    python benchmarks/benchmark_batched.py [--method LA-LIB|LIB] [--datasets SJAFFE Yeast_spo5] [--seeds 0 1 2]
        [--repeats 1]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LIB_TF_DATA", str(ROOT.parent / "shared" / "ldl"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from lib_tf.benchmark import Benchmark, MethodSpec, default_methods  # noqa: E402
from lib_tf.benchmark import methods as benchmark_methods  # noqa: E402
from lib_tf.data import load_ldl  # noqa: E402
from lib_tf.enhancer import LabelEnhancer  # noqa: E402

@contextlib.contextmanager
def fold_models_one_by_one():
    """LabelEnhancer's truth-free fits train their fold models one after another (before)."""
    with mock.patch.object(LabelEnhancer, "_trains_batched", lambda self: False):
        yield


def recompute(method: str, side: str, dataset: str, seeds) -> tuple[float, dict]:
    """(seconds, stored runs by key) of recomputing ``method``'s runs on ``dataset``."""
    spec = default_methods()[method]
    if side == "before":
        spec = MethodSpec(**{**spec.__dict__, "fit_many": None})
    benchmark_methods._label_aware_fit.cache_clear()
    with tempfile.TemporaryDirectory() as out, (fold_models_one_by_one() if side == "before"
                                                else contextlib.nullcontext()):
        bench = Benchmark(out, {method: spec}, [dataset], seeds, progress=False)
        data = load_ldl(dataset)
        start = time.perf_counter()
        for params in spec.grid:  # every run of the method on the data set (the grid x the seeds)
            for seed in seeds:
                bench._run(spec, data, seed, params)
        return time.perf_counter() - start, dict(bench.store.runs)


def largest_difference(before: dict, after: dict) -> float:
    assert before.keys() == after.keys(), "the two sides stored different runs"
    return max(float(np.max(np.abs(np.asarray(before[key]["all"]) - np.asarray(after[key]["all"]))))
               for key in before)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=("LA-LIB", "LIB"), default="LA-LIB")
    parser.add_argument("--datasets", nargs="+", default=["SJAFFE", "Yeast_spo5"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    for index, dataset in enumerate(args.datasets):
        seconds = {"before": [], "after": []}
        for repeat in range(args.repeats):
            order = ["before", "after"] if (index + repeat) % 2 == 0 else ["after", "before"]
            runs = {}
            for side in order:
                wall, runs[side] = recompute(args.method, side, dataset, args.seeds)
                seconds[side].append(wall)
                print(f"{dataset:<12} repeat {repeat} {side:<6} {wall:7.1f} s for {len(runs[side])} runs "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)
            print(f"{dataset:<12} repeat {repeat} largest difference of a stored figure between the sides: "
                  f"{largest_difference(runs['before'], runs['after']):.2e}")
        before, after = statistics.median(seconds["before"]), statistics.median(seconds["after"])
        print(f"{dataset:<12} medians: before {before:.1f} s, after {after:.1f} s, ratio {before / after:.2f}x")
    print("command: python " + " ".join([os.path.relpath(__file__, ROOT), *(argv if argv is not None else sys.argv[1:])]))


if __name__ == "__main__":
    main()
