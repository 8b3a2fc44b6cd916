"""How close a batched member comes to its single fit over a whole default-length fit.

For each data set, three LA-LIB settings (the shipped one read out as given, and two other grid points with
their own seeds and label dropouts) are trained once as one ``fit_members`` call and once
each as ``LabelEnhancer(**settings).fit`` (the single-setting path), at the default length
(about 2,000 steps). Printed per member: the largest absolute difference of the logits and of
the distributions, and both fits' Kullback-Leibler divergence to the ground truth. Members
share their single fit's minibatches, initial weights, noise and masks, so what differs is
the rounding of batched against single matrix products, carried through training.
``--model paper``: the paper's LIB instead, its benchmark grid (alpha 0.001 or 1, beta 1 or 10,
seed 0) at its own sizes, read out at T = 1.

    python benchmarks/batched_equivalence.py [--model label-aware|paper] [--datasets SJAFFE Yeast_alpha SBU_3DFE]
        [--epochs 0]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LIB_TF_DATA", str(ROOT.parent / "shared" / "ldl"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from lib_tf import LabelEnhancer  # noqa: E402
from lib_tf.data import load_ldl  # noqa: E402
from lib_tf.metrics import score  # noqa: E402
from lib_tf.model.batched_fit import fit_members  # noqa: E402

MEMBERS = {"label-aware": [dict(random_state=0), dict(alpha=0.1, beta=1.0, label_dropout=0.3, random_state=1),
                           dict(alpha=0.01, beta=10.0, label_dropout=0.0, random_state=2)],
           "paper": [dict(alpha=alpha, beta=beta, random_state=0) for alpha in (0.001, 1.0) for beta in (1.0, 10.0)]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["SJAFFE", "Yeast_alpha", "SBU_3DFE"])
    parser.add_argument("--epochs", type=int, default=0, help="0: the default fit's length (auto)")
    parser.add_argument("--model", choices=tuple(MEMBERS), default="label-aware")
    args = parser.parse_args(argv)
    print(f"{'data set':<12} {'member':>6} {'steps':>5} {'max|dz|':>9} {'max|dd|':>9} {'KL batched':>10} {'KL single':>10}")
    for name in args.datasets:
        data = load_ldl(name)
        X, L = data.features, data.logical_labels
        settings = [LabelEnhancer(model=args.model, epochs=args.epochs or None, readout="given", **member).get_params()
                    for member in MEMBERS[args.model]]
        start = time.perf_counter()
        model = fit_members(X, L, settings)
        batched_seconds = time.perf_counter() - start
        label_aware = args.model == "label-aware"
        inputs = {"features": X, "logical_labels": L} if label_aware else X
        logits, distributions = model.predict_logits(inputs), model.predict_distributions(inputs)
        single_seconds = 0.0
        for k, setting in enumerate(settings):
            start = time.perf_counter()
            single = LabelEnhancer(**setting).fit(X, L)
            single_seconds += time.perf_counter() - start
            steps = single.epochs_ * -(-len(X) // setting["batch_size"])
            single_logits = single.logits(X, L) if label_aware else single.logits(X)
            print(f"{name:<12} {k:>6} {steps:>5} {np.abs(logits[k] - single_logits).max():9.2e} "
                  f"{np.abs(distributions[k] - single.distributions_).max():9.2e} "
                  f"{score(data.distributions, distributions[k])['Kullback-Leibler']:10.5f} "
                  f"{score(data.distributions, single.distributions_)['Kullback-Leibler']:10.5f}")
        print(f"{name:<12} seconds: batched {batched_seconds:.1f}, {len(settings)} single fits {single_seconds:.1f} "
              f"(load average {os.getloadavg()[0]:.1f})")
    print("\ncommand: python " + " ".join([os.path.relpath(__file__, ROOT), *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    main()
