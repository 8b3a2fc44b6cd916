"""The default label-aware fit (``LabelEnhancer.label_aware().fit(X, L)``, truth-free read-out
included) with its fold models trained one after another (before) and as members of one
batched fit beside the full model (after, ``lib_tf.enhancer._train_together``); with
``--sides batched "batched, no XLA"``, the batched fit as shipped (its update compiled with
XLA where ``fit_members``' auto decides: 4 members, from 4,000 member-steps) against the
same without XLA.

Per data set and repeat the two run back to back, the one that goes first alternating, both
with ``random_state`` = the repeat's seed, in this process (TensorFlow's import excluded).
Printed: each fit's wall time, the median of each side and the ratio of medians, and the six
measures of the fitted distributions (``distributions_``, the posterior's hedge) against the
ground truth, with the largest difference between the sides.

    python benchmarks/truth_free_batched.py [--datasets Yeast_alpha SBU_3DFE] [--repeats 3]
        [--sides "one by one" batched ["batched, no XLA"]]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LIB_TF_DATA", str(ROOT.parent / "shared" / "ldl"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")



from lib_tf import LabelEnhancer  # noqa: E402
from lib_tf.model import batched_fit  # noqa: E402
from lib_tf.data import load_ldl  # noqa: E402
from lib_tf.metrics import METRIC_NAMES, score  # noqa: E402


class _OneByOne(LabelEnhancer):
    """LabelEnhancer whose fold models train one after another (the path before batching)."""

    def _trains_batched(self) -> bool:
        return False


class _WithoutXla(LabelEnhancer):
    """LabelEnhancer whose batched fit never compiles its update with XLA."""

    def fit(self, X, L):
        with mock.patch.object(batched_fit, "XLA_FROM_MEMBERS", sys.maxsize):  # read by fit_members' auto
            return super().fit(X, L)


SIDES = {"one by one": _OneByOne, "batched": LabelEnhancer, "batched, no XLA": _WithoutXla}


def timed_fit(cls, X, L, seed):
    start = time.perf_counter()
    enhancer = cls.label_aware(random_state=seed).fit(X, L)
    return time.perf_counter() - start, enhancer


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["Yeast_alpha", "SBU_3DFE"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sides", nargs=2, choices=list(SIDES), default=["one by one", "batched"],
                        help="the two fits compared (the first is the 'before')")
    args = parser.parse_args(argv)
    sides = {side: SIDES[side] for side in args.sides}
    before, after = args.sides
    for name in args.datasets:
        data = load_ldl(name)
        X, L = data.features, data.logical_labels
        seconds = {side: [] for side in sides}
        for repeat in range(args.repeats):
            order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
            scores = {}
            for side in order:
                wall, enhancer = timed_fit(sides[side], X, L, repeat)
                seconds[side].append(wall)
                scores[side] = score(data.distributions, enhancer.distributions_)
                print(f"{name:<12} seed {repeat} {side:<15} {wall:6.1f} s  "
                      + " ".join(f"{scores[side][m]:.4f}" for m in METRIC_NAMES)
                      + f"  T={enhancer.temperature_:g} T_l={enhancer.label_temperature_}"
                      + f"  (load {os.getloadavg()[0]:.1f})", flush=True)
            largest = max(abs(scores[after][m] - scores[before][m]) for m in METRIC_NAMES)
            print(f"{name:<12} seed {repeat} largest difference of a measure between the sides: {largest:.2e}")
        medians = {side: statistics.median(values) for side, values in seconds.items()}
        print(f"{name:<12} medians: {before} {medians[before]:.1f} s, {after} {medians[after]:.1f} s, "
              f"ratio {medians[before] / medians[after]:.2f}x")
    print("measures: " + ", ".join(METRIC_NAMES))
    print("command: python " + " ".join([os.path.relpath(__file__, ROOT), *(argv if argv is not None else sys.argv[1:])]))


if __name__ == "__main__":
    main()
