"""LESC, gLESC and LEVI through ``benchmarks/baselines.py``, with their parameter grids.

    LIB_TF_DATA=../shared/ldl OMP_NUM_THREADS=2 python benchmarks/baselines_lowrank.py \
        --methods LESC gLESC LEVI

Same CLI, scoring, selection (lowest KL against the ground truth: the paper's protocol) and
CSV merge as ``benchmarks/baselines.py``; this file only adds the grids of these three
methods (``GRIDS``) and their fixed settings (``FIXED``) before calling its ``main``. The
``command`` column of the CSV is written by ``baselines.main`` and names ``baselines.py``;
the command that produced the rows is this one (see ``benchmarks/BASELINES_LOWRANK.md``).
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import baselines  # noqa: E402

from lib_tf.baselines.lesc import LAMBDA_GRID  # noqa: E402

#: The papers' grid {1e-4, ..., 10} for both lambdas of LESC and gLESC (36 points; stage 1 and
#: the stage-2 operators are cached, so each extra point costs one O(n^3) solve).
LOWRANK_GRIDS = {
    "LESC": {"lambda1": list(LAMBDA_GRID), "lambda2": list(LAMBDA_GRID)},
    "gLESC": {"lambda1": list(LAMBDA_GRID), "lambda2": list(LAMBDA_GRID)},
    "LEVI": {"alpha": [0.01, 0.1, 1.0, 10.0]},
}
LOWRANK_FIXED = {"LEVI": {"random_state": 0}}


def main(argv=None):
    for name, grid in LOWRANK_GRIDS.items():
        baselines.GRIDS.setdefault(name, grid)
    for name, fixed in LOWRANK_FIXED.items():
        baselines.FIXED.setdefault(name, fixed)
    return baselines.main(argv)


if __name__ == "__main__":
    sys.exit(main())
