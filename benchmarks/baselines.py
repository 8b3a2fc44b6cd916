"""Run registered LE baselines over LDL data sets and compare with the paper's Table 2.

    LIB_TF_DATA=../shared/ldl python benchmarks/baselines.py --methods FCM KM LP ML GLLE
    LIB_TF_DATA=../shared/ldl python benchmarks/baselines.py --methods LESC --datasets SJAFFE

For every (method, data set) it fits ``get_method(name)(**params)`` on (features, logical
labels), scores the recovery against the ground truth with the six measures of
``lib_tf.metrics`` and prints Chebyshev and KL beside the paper's figure and the relative
difference ``(ours - paper) / paper``, plus the fit time. Results are merged into
``--out`` (default ``benchmarks/baselines_results.csv``): rows of the methods run are
replaced, rows of other methods kept, so each developer adds their methods' rows.

Parameter grids (``GRIDS``): where a method has one (GLLE's lambda), every value is run and
the one with the lowest KL against the ground truth is kept -- the paper's protocol
(parameters chosen per data set on the ground truth); the chosen value is in ``params``.
``--no-grid`` runs the defaults only.

The extra column ``KL(D_hat||D)`` is the divergence in the other direction: the paper's KL
column matches it, not ``KL(D||D_hat)``, for the methods whose output has zeros (KM equals
``KL(l/sum(l) || D)`` to +-0.003 on all 13 data sets); see ``benchmarks/BASELINES.md``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib_tf import metrics  # noqa: E402
from lib_tf.baselines import METHODS, get_method  # noqa: E402
from lib_tf.readout.forms import TEMPERATURE_GRID  # noqa: E402
from lib_tf.baselines.glle import LAMBDA_GRID as GLLE_LAMBDA_GRID  # noqa: E402
from lib_tf.data import load_ldl  # noqa: E402

PAPER_TABLE = Path(os.environ.get("LIB_TF_PAPER_TABLE", ROOT.parent / "shared" / "reference" / "paper_table2.csv"))
DEFAULT_OUT = ROOT / "benchmarks" / "baselines_results.csv"
CLASSIC = ["FCM", "KM", "LP", "ML", "GLLE"]
DATASETS = ["Movie", "SBU_3DFE", "SJAFFE", "Yeast_alpha", "Yeast_cdc", "Yeast_cold", "Yeast_diau", "Yeast_dtt",
            "Yeast_elu", "Yeast_heat", "Yeast_spo", "Yeast_spo5", "Yeast_spoem"]
#: Per-method parameter grids searched against the ground truth (the paper's protocol).
GRIDS = {"GLLE": {"lam": list(GLLE_LAMBDA_GRID)},
         "softmax(l/T)": {"temperature": list(TEMPERATURE_GRID)}}
#: Fixed parameters of the benchmark (seeds where a method is random).
FIXED = {"FCM": {"random_state": 0}}
SELECT_BY = "Kullback-Leibler"
COLUMNS = ["method", "dataset", "params", "Chebyshev", "Clark", "Canberra", "Kullback-Leibler", "Cosine",
           "Intersection", "KL(D_hat||D)", "paper_Chebyshev", "paper_Kullback-Leibler", "reldiff_Chebyshev",
           "reldiff_Kullback-Leibler", "reldiff_KL(D_hat||D)", "fit_seconds", "grid_seconds", "command"]


def reverse_kl(D, D_hat, eps: float = metrics.EPS) -> float:
    """``mean_i sum_j d_hat_j log(d_hat_j / d_j)`` with ``0 log 0 := 0`` and ``D`` clipped at eps."""
    D_hat = np.asarray(D_hat, dtype=np.float64)
    positive = D_hat > 0
    safe = np.where(positive, D_hat, 1.0)
    terms = np.where(positive, D_hat * (np.log(safe) - np.log(np.maximum(D, eps))), 0.0)
    return float(terms.sum(axis=1).mean())


def load_paper(path=PAPER_TABLE):
    table = {}
    if Path(path).is_file():
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                table[(row["dataset"], row["metric"], row["method"])] = float(row["value"])
    return table


def grid_points(method: str, use_grid: bool):
    base = dict(FIXED.get(method, {}))
    grid = GRIDS.get(method) if use_grid else None
    if not grid:
        return [base]
    points = [base]
    for name, values in grid.items():
        points = [dict(p, **{name: v}) for p in points for v in values]
    return points


def run_one(method: str, dataset, use_grid: bool):
    cls = get_method(method)
    best = None
    grid_seconds = 0.0
    for params in grid_points(method, use_grid):
        start = time.perf_counter()
        D_hat = cls(**params).fit_transform(dataset.features, dataset.logical_labels)
        seconds = time.perf_counter() - start
        grid_seconds += seconds
        scores = metrics.score(dataset.distributions, D_hat)
        if best is None or scores[SELECT_BY] < best[1][SELECT_BY]:
            best = (params, scores, seconds, D_hat)
    params, scores, seconds, D_hat = best
    return params, scores, reverse_kl(dataset.distributions, D_hat), seconds, grid_seconds


def reldiff(ours, paper):
    return "" if paper is None or paper == 0 else f"{(ours - paper) / paper:.4f}"


def merge_write(path: Path, rows):
    """Write ``rows`` into the CSV at ``path``, replacing only the (method, data set) pairs they
    hold: a rerun of one method on one data set keeps every other finished row."""
    kept = []
    if path.is_file():
        with open(path, newline="") as handle:
            kept = list(csv.DictReader(handle))
    done = {(r["method"], r["dataset"]) for r in rows}
    kept = [r for r in kept if (r["method"], r["dataset"]) not in done]
    order = {name: i for i, name in enumerate(METHODS)}
    every = sorted(kept + rows, key=lambda r: (order.get(r["method"], len(order)), r["method"],
                                               DATASETS.index(r["dataset"]) if r["dataset"] in DATASETS else 99,
                                               r["dataset"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in every:
            writer.writerow({k: row.get(k, "") for k in COLUMNS})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=CLASSIC, help=f"registered names ({', '.join(METHODS)})")
    parser.add_argument("--datasets", nargs="+", default=DATASETS, help="data set names (LIB_TF_DATA)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="results CSV, merged per method")
    parser.add_argument("--no-grid", action="store_true", help="defaults only, no per-data-set grid search")
    args = parser.parse_args(argv)
    for name in args.methods:
        if name not in METHODS:
            parser.error(f"unknown method {name!r}; choose from {list(METHODS)}")
    command = "python benchmarks/baselines.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None
                                                                                     else sys.argv[1:]))
    paper = load_paper()
    rows = []
    header = (f"{'method':<8} {'dataset':<12} {'Cheb':>7} {'paper':>6} {'rel':>6}   {'KL':>8} {'paper':>6} "
              f"{'rel':>7}   {'KL(D^|D)':>8} {'rel':>6}   {'fit s':>7}  params")
    print(header)
    print("-" * len(header))
    for method in args.methods:
        for name in args.datasets:
            dataset = load_ldl(name)
            params, scores, rkl, seconds, grid_seconds = run_one(method, dataset, not args.no_grid)
            p_cheb = paper.get((name, "Chebyshev", method))
            p_kl = paper.get((name, "Kullback-Leibler", method))
            row = {"method": method, "dataset": name, "params": json.dumps(params, sort_keys=True),
                   **{k: f"{v:.6f}" for k, v in scores.items()}, "KL(D_hat||D)": f"{rkl:.6f}",
                   "paper_Chebyshev": "" if p_cheb is None else p_cheb,
                   "paper_Kullback-Leibler": "" if p_kl is None else p_kl,
                   "reldiff_Chebyshev": reldiff(scores["Chebyshev"], p_cheb),
                   "reldiff_Kullback-Leibler": reldiff(scores["Kullback-Leibler"], p_kl),
                   "reldiff_KL(D_hat||D)": reldiff(rkl, p_kl), "fit_seconds": f"{seconds:.2f}",
                   "grid_seconds": f"{grid_seconds:.2f}", "command": command}
            rows.append(row)

            def fmt(v):
                return "   n/a" if v == "" else f"{100 * float(v):+5.0f}%"
            print(f"{method:<8} {name:<12} {scores['Chebyshev']:7.4f} {p_cheb if p_cheb is not None else '':>6} "
                  f"{fmt(row['reldiff_Chebyshev'])}   {scores['Kullback-Leibler']:8.4f} "
                  f"{p_kl if p_kl is not None else '':>6} {fmt(row['reldiff_Kullback-Leibler']):>7}   "
                  f"{rkl:8.4f} {fmt(row['reldiff_KL(D_hat||D)'])}   {seconds:7.2f}  "
                  f"{json.dumps({k: v for k, v in params.items() if k != 'random_state'})}", flush=True)
    out = Path(args.out)
    merge_write(out, rows)
    within = {}
    for row in rows:
        for key in ("reldiff_Chebyshev", "reldiff_Kullback-Leibler", "reldiff_KL(D_hat||D)"):
            if row[key] != "":
                hits = within.setdefault((row["method"], key), [0, 0])
                hits[0] += float(row[key]) <= 0.10
                hits[1] += 1
    print("\nwithin 10% of the paper or better (cells):")
    for method in args.methods:
        parts = [f"{key[8:]} {within[(method, key)][0]}/{within[(method, key)][1]}"
                 for key in ("reldiff_Chebyshev", "reldiff_Kullback-Leibler", "reldiff_KL(D_hat||D)")
                 if (method, key) in within]
        print(f"  {method:<8} " + ", ".join(parts))
    print(f"\nwrote {out}")
    print(f"command: LIB_TF_DATA={os.environ.get('LIB_TF_DATA', '<data dir>')} {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
