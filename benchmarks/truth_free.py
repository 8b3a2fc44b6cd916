"""How well truth-free criteria rank read-outs and settings the way the true KL does
(benchmarks/TRUTH_FREE.md).

For every data set, LA-LIB is fitted with its truth-free read-out (``readout="truth-free"``)
at every setting of the grid; every candidate (setting x read-out: the two temperatures over
their grid, and the binarisation posterior's mean) is scored by

- the true KL on all instances (what the criteria should rank like),
- ``expected_kl``: the expected KL under the fitted binarisation posterior (the package's criterion),
- ``consistency``: how far the read-out is from binarising into the labels (the tuner's former
  ``unsupervised`` objective, :func:`lib_tf.readout.selection.consistency_loss`),

and the Spearman correlation of each criterion with the true KL over the candidates is
printed per data set, with what each criterion's choice costs against the blind choice (T and
T_l picked on a revealed 10%, scored on the other 90%).

    LIB_TF_DATA=../shared/ldl python benchmarks/truth_free.py --out benchmarks/truth_free_results.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from lib_tf import LabelEnhancer, load_ldl
from lib_tf.data import EXTRA_DATASETS, PAPER_DATASETS, split_instances
from lib_tf.enhancer import LABEL_AWARE_DEFAULTS
from lib_tf.metrics import kullback_leibler
from lib_tf.readout.forms import TwoTemperatureReadouts
from lib_tf.readout.selection import consistency_loss

#: The settings compared (LA-LIB's benchmark grid: label dropout 0 and 0.5).
SETTINGS = [{"label_dropout": 0.0}, {"label_dropout": 0.5}]
CRITERIA = ("expected_kl", "consistency")


def candidates_of(data, settings: dict, seed: int) -> list:
    """Every read-out of one truth-free LA-LIB fit: (name, distributions, expected KL)."""
    enhancer = LabelEnhancer.label_aware(**settings, random_state=seed).fit(data.features, data.logical_labels)
    posterior, L = enhancer.posterior_, data.logical_labels
    logits = enhancer.logits(data.features, L)
    form = TwoTemperatureReadouts(drop_logits=False, rule_projection=True)
    rows = [(form.name(c), form.read_out(logits, L, c)) for c in form.candidates()] + [("posterior", posterior.mean)]
    return [(name, d, posterior.expected_kl(d)) for name, d in rows], enhancer


def measure(name: str, seed: int) -> dict:
    data = load_ldl(name)
    D, L = data.distributions, data.logical_labels
    revealed, hidden = split_instances(data.n_instances)
    table, fits = [], []
    for settings in SETTINGS:
        start = time.perf_counter()
        candidates, enhancer = candidates_of(data, settings, seed)
        fits.append({"settings": settings, "seconds": round(time.perf_counter() - start, 1),
                     "readout_choice": enhancer.readout_choice_})
        for readout, d, expected in candidates:
            table.append({"settings": settings, "readout": readout, "expected_kl": expected,
                          "consistency": consistency_loss(d, L), "true_kl": kullback_leibler(D, d),
                          "revealed_kl": kullback_leibler(D[revealed], d[revealed]),
                          "hidden_kl": kullback_leibler(D[hidden], d[hidden])})
    true = [row["true_kl"] for row in table]
    grid = [row for row in table if row["readout"] != "posterior"]
    blind = min(grid, key=lambda row: row["revealed_kl"])  # what 10% of truth buys (LA-LIB's blind protocol)
    result = {"dataset": name, "seed": seed, "fits": fits, "candidates": len(table),
              "blind": {"settings": blind["settings"], "readout": blind["readout"], "hidden_kl": blind["hidden_kl"]}}
    for criterion in CRITERIA:
        values = [row[criterion] for row in table]
        pick = table[int(np.argmin(values))]
        result[criterion] = {"spearman": float(spearmanr(values, true)[0]), "settings": pick["settings"],
                             "readout": pick["readout"], "hidden_kl": pick["hidden_kl"]}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="*", default=list(PAPER_DATASETS + EXTRA_DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the results (kept runs are reused)")
    args = parser.parse_args(argv)
    done = json.loads(args.out.read_text()) if args.out and args.out.exists() else {}
    print(f"LA-LIB {LABEL_AWARE_DEFAULTS}, settings {SETTINGS}, seed {args.seed}")
    print("| data set | candidates | Spearman expected KL | Spearman consistency | blind KL (hidden 90%) "
          "| expected-KL pick | vs blind | consistency pick | vs blind |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        key = f"{name}/{args.seed}"
        if key not in done:
            done[key] = measure(name, args.seed)
            if args.out:
                args.out.write_text(json.dumps(done, indent=1) + "\n")
        r = done[key]
        blind = r["blind"]["hidden_kl"]
        cells = [f"{r[c]['spearman']:.2f}" for c in CRITERIA]
        picks = [f"{r[c]['readout']} ({r[c]['settings']['label_dropout']:g}) {r[c]['hidden_kl']:.4f} | "
                 f"{r[c]['hidden_kl'] / blind - 1:+.0%}" for c in CRITERIA]
        print(f"| {name} | {r['candidates']} | {' | '.join(cells)} | {blind:.4f} | {' | '.join(picks)} |", flush=True)
    rows = [done[f"{name}/{args.seed}"] for name in args.datasets]
    for criterion in CRITERIA:
        within = sum(r[criterion]["hidden_kl"] <= 1.05 * r["blind"]["hidden_kl"] for r in rows)
        print(f"{criterion}: median Spearman {np.median([r[criterion]['spearman'] for r in rows]):.2f}; "
              f"pick within 5% of blind KL on {within} of {len(rows)}")
    print("command: LIB_TF_DATA=../shared/ldl python benchmarks/truth_free.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
