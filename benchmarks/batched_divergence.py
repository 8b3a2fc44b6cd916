"""How a batched member's difference from its single fit grows with the fit's length.

The paper's LIB at alpha = 1, beta = 1 on SJAFFE (the setting where it grows), seed 0: for each
length, the single fit twice (``LabelEnhancer(model="paper", ...).fit``) and the same setting
as a member of ``fit_together`` beside one other (alpha 0.001). Printed: the largest logit
difference between the two single fits and between single and batched, both fits' last loss
and, at the last length, both fits' KL after the read-out picked on the truth::

    python benchmarks/batched_divergence.py [--dataset SJAFFE] [--epochs 5 30 100 150 200 300]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LIB_TF_DATA", str(ROOT.parent / "shared" / "ldl"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from lib_tf import LabelEnhancer, load_ldl, score  # noqa: E402
from lib_tf.enhancer import fit_together  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="SJAFFE")
    parser.add_argument("--epochs", nargs="+", type=int, default=[5, 30, 100, 150, 200, 300])
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--beta", type=float, default=1.0)
    args = parser.parse_args(argv)
    data = load_ldl(args.dataset)
    X, L = data.features, data.logical_labels
    print(f"{'epochs':>6} {'single vs single':>16} {'single vs batched':>17} {'loss single':>11} {'loss batched':>12}")
    for epochs in args.epochs:
        def setting(alpha=args.alpha, beta=args.beta):
            return LabelEnhancer(model="paper", alpha=alpha, beta=beta, random_state=0, epochs=epochs)

        single, again = setting().fit(X, L), setting().fit(X, L)
        batched = fit_together([setting(), setting(alpha=0.001, beta=1.0)], X, L)[0]
        print(f"{epochs:>6} {np.abs(single.logits(X) - again.logits(X)).max():16.2e} "
              f"{np.abs(single.logits(X) - batched.logits(X)).max():17.2e} {single.history_['loss'][-1]:11.3f} "
              f"{batched.history_['loss'][-1]:12.3f}", flush=True)
    for fitted in (single, batched):
        fitted.select_temperature(X, data.distributions)
    print(f"KL at {epochs} epochs, read-out picked on the truth: single "
          f"{score(data.distributions, single.distributions_)['Kullback-Leibler']:.4f}, batched "
          f"{score(data.distributions, batched.distributions_)['Kullback-Leibler']:.4f}")
    print("command: python " + " ".join([os.path.relpath(__file__, ROOT), *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    main()
