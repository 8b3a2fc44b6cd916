"""Tuned LIB against LIB with the fixed defaults, on the unrevealed 90% (the 'revealed' protocol).

    LIB_TF_DATA=../shared/ldl .venv/bin/python benchmarks/tuning_benchmark.py \\
        --datasets SJAFFE Yeast_cold --tuner bayesian --trials 15 [--seeds 0 1 2] [--presets]

Per data set:
1. the revealed share: ``np.random.default_rng(0).permutation(n)``, first ``round(0.1 n)``
   (as ``benchmarks/lib_benchmark.py`` and ``lib-tf enhance --reveal 0.1 --seed 0``);
2. defaults: ``LabelEnhancer(random_state=s)`` (alpha=0.001, beta=1, about 2000 Adam steps), read out
   at T=1 and with T picked by KL on the revealed share;
3. the search: ``lib_tf.tuning.run_search`` (exactly what ``lib-tf tune --dataset NAME
   --tuner ... --trials ... --objective revealed --reveal 0.1 --seed 0`` runs), timed; the
   revealed share is its only ground truth;
4. tuned: ``LabelEnhancer(**best_hparams, random_state=s)`` refitted on all instances;
every figure is on the other 90%. ``--presets`` also writes the best settings, with the
command that found them, into ``lib_tf/presets.json``.

``--section unsupervised`` instead runs an unsupervised random search with ground-truth
diagnostics per trial and reports how well the objective tracks the true KL (Spearman).

Results merge into ``benchmarks/tuning_results.json`` (one entry per data set), so data sets
can be run one at a time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

from lib_tf import LabelEnhancer, load_ldl, score  # noqa: E402
from lib_tf.metrics import METRIC_NAMES  # noqa: E402
from lib_tf.readout.forms import softmax_with_temperature  # noqa: E402
from lib_tf.readout.selection import select_readout  # noqa: E402
from lib_tf.cli.tune import trial_printer  # noqa: E402
from lib_tf.data import split_instances  # noqa: E402
from lib_tf.hparams import PRESETS_FILE  # noqa: E402
from lib_tf.tuning import run_search  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARE = 0.1


def fit_and_score(params, X, L, D, revealed, hidden, seed):
    enhancer = LabelEnhancer(**{**params, "random_state": seed})
    start = time.perf_counter()
    enhancer.fit(X, L)
    seconds = time.perf_counter() - start
    logits = enhancer.logits(X)
    t_fixed = enhancer.temperature_
    t_revealed = select_readout(logits[revealed], D[revealed])
    return {"seconds": seconds, "T_fixed": t_fixed, "T_revealed": t_revealed,
            "revealed_kl_at_fixed_T": score(D[revealed], softmax_with_temperature(logits[revealed], t_fixed))["Kullback-Leibler"],
            "at_fixed_T": score(D[hidden], softmax_with_temperature(logits[hidden], t_fixed)),
            "at_revealed_T": score(D[hidden], softmax_with_temperature(logits[hidden], t_revealed))}


def mean(runs, key):
    return {m: float(np.mean([r[key][m] for r in runs])) for m in METRIC_NAMES}


def row(label, values):
    return f"  {label:<40}" + "".join(f"{values[m]:>10.4f}" for m in METRIC_NAMES)


def tune_command(name, args, out):
    return (f"lib-tf tune --dataset {name} --tuner {args.tuner} --trials {args.trials} --objective revealed "
            f"--reveal {SHARE} --seed 0" + (f" --max-epochs {args.max_epochs}" if args.max_epochs else "")
            + f" --out {out}")


def run_revealed(name, args, command):
    data = load_ldl(name)
    X, L, D = data.features, data.logical_labels, data.distributions
    revealed, hidden = split_instances(len(X), SHARE, 0)
    print(f"\n== {name}: n={len(X)} d={X.shape[1]} c={L.shape[1]}; revealed {len(revealed)}, scored on {len(hidden)}",
          flush=True)
    defaults = [fit_and_score({}, X, L, D, revealed, hidden, s) for s in args.seeds]
    print("defaults fitted in " + ", ".join(f"{r['seconds']:.1f}" for r in defaults) + " s", flush=True)
    out = Path(args.work) / name
    start = time.perf_counter()
    best = run_search(data, kind=args.tuner, trials=args.trials, objective="revealed", reveal=SHARE, seed=0, out=out,
                      overwrite=not args.resume, max_epochs=args.max_epochs,
                      progress=trial_printer("revealed"),
                      command=tune_command(name, args, out))
    search_seconds = time.perf_counter() - start
    summary = json.loads((out / "search_summary.json").read_text())
    tuned = [fit_and_score(best, X, L, D, revealed, hidden, s) for s in args.seeds]
    d_fixed, d_rev, t_fixed = mean(defaults, "at_fixed_T"), mean(defaults, "at_revealed_T"), mean(tuned, "at_fixed_T")
    print(f"\n{name}: search {search_seconds:.0f} s ({summary['trials_done']} trials, {args.tuner}); "
          f"best {json.dumps(best)}")
    print("  " + " " * 40 + "".join(f"{m[:9]:>10}" for m in METRIC_NAMES))
    print(row("LIB defaults, T=1", d_fixed))
    t_text = ",".join(f"{r['T_revealed']:g}" for r in defaults)
    print(row(f"LIB defaults, T on revealed ({t_text})", d_rev))
    print(row(f"LIB tuned (revealed), T={best['temperature']:g}", t_fixed))
    wins = {against: {m: (t_fixed[m] < ref[m]) for m in ("Kullback-Leibler", "Chebyshev")}
            for against, ref in (("defaults T=1", d_fixed), ("defaults revealed T", d_rev))}
    print(f"  tuned beats: {wins}", flush=True)
    print(f"  revealed KL: best trial {summary['best_score']:.5f}, refit with its settings (seed 0) "
          f"{tuned[0]['revealed_kl_at_fixed_T']:.5f}", flush=True)
    return {"n": len(X), "revealed": len(revealed), "scored": len(hidden), "seeds": args.seeds,
            "tuner": args.tuner, "trials": summary["trials_done"], "search_seconds": round(search_seconds, 1),
            "best_revealed_kl": summary["best_score"], "hparams": best,
            "defaults": {"T=1": d_fixed, "revealed T": d_rev, "T_revealed": [r["T_revealed"] for r in defaults],
                         "fit_seconds": [round(r["seconds"], 1) for r in defaults]},
            "tuned": {"at its T": t_fixed, "refit_revealed_kl": [r["revealed_kl_at_fixed_T"] for r in tuned], "fit_seconds": [round(r["seconds"], 1) for r in tuned],
                      "per_seed_kl": [r["at_fixed_T"]["Kullback-Leibler"] for r in tuned]},
            "tuned_beats": wins, "tune_command": tune_command(name, args, out), "command": command}


def spearman(a, b):
    ranks = [np.argsort(np.argsort(v)) for v in (a, b)]
    return float(np.corrcoef(*ranks)[0, 1])


def run_unsupervised(name, args, command):
    """An unsupervised random search with per-trial ground truth (diagnostics only)."""
    from lib_tf.tuning import best_trial, completed_trials, default_max_epochs, make_tuner

    data = load_ldl(name)
    out = Path(args.work) / f"{name}_unsupervised"
    tuner = make_tuner("random", data.n_labels, out, objective="unsupervised", trials=args.trials,
                       max_epochs=args.max_epochs or default_max_epochs(data.n_instances),
                       seed=0, overwrite=not args.resume, diagnose=True,
                       progress=lambda t, trial: print(f"trial {trial.trial_id}: consistency {trial.score:.4f} "
                                                       f"true KL {trial.metrics.get_last_value('truth_kl'):.4f}", flush=True))
    start = time.perf_counter()
    tuner.search(data.features, data.logical_labels, distributions=data.distributions, share=0.2, split_seed=0, verbose=0)
    seconds = time.perf_counter() - start
    trials = completed_trials(tuner)
    consistency = [t.score for t in trials]
    truth = [t.metrics.get_last_value("truth_kl") for t in trials]
    best = best_trial(tuner)
    picked = best.metrics.get_last_value("truth_kl")
    result = {"trials": len(trials), "search_seconds": round(seconds, 1), "spearman_consistency_vs_true_kl": spearman(consistency, truth),
              "true_kl_of_picked": picked, "true_kl_best_trial": float(min(truth)), "true_kl_median_trial": float(np.median(truth)),
              "rank_of_picked": int(sorted(truth).index(picked)) + 1, "command": command}
    print(f"\n{name} unsupervised: {json.dumps(result)}")
    return result


def write_preset(name, entry):
    presets = json.loads(PRESETS_FILE.read_text()) if PRESETS_FILE.is_file() else {"presets": {}}
    presets["presets"][name] = {
        "hparams": entry["hparams"], "command": entry["tune_command"],
        "search": {"tuner": entry["tuner"], "trials": entry["trials"], "seconds": entry["search_seconds"],
                   "revealed_kl": entry["best_revealed_kl"]},
        "scored_on_unrevealed_90pct": {"tuned_kl": entry["tuned"]["at its T"]["Kullback-Leibler"],
                                       "tuned_chebyshev": entry["tuned"]["at its T"]["Chebyshev"],
                                       "defaults_kl": entry["defaults"]["T=1"]["Kullback-Leibler"],
                                       "defaults_chebyshev": entry["defaults"]["T=1"]["Chebyshev"]},
    }
    presets["presets"] = dict(sorted(presets["presets"].items()))
    PRESETS_FILE.write_text(json.dumps(presets, indent=1) + "\n")


def markdown_tables(results):
    """The must-reach table (KL and Chebyshev on the unrevealed 90%) and the unsupervised one."""
    lines = ["| data set | search | trials | search time | defaults T=1 KL / Cheb | defaults, revealed T KL / Cheb "
             "| tuned KL / Cheb | beats defaults (T=1 / revealed T) |", "|---" * 8 + "|"]
    for name, r in results.get("revealed", {}).items():
        d1, dr, t = r["defaults"]["T=1"], r["defaults"]["revealed T"], r["tuned"]["at its T"]
        ok = ["yes" if all(w.values()) else "no (" + ", ".join(m for m, v in w.items() if not v) + ")"
              for w in (r["tuned_beats"]["defaults T=1"], r["tuned_beats"]["defaults revealed T"])]
        lines.append(f"| {name} | {r['tuner']} | {r['trials']} | {r['search_seconds']:.0f} s | "
                     f"{d1['Kullback-Leibler']:.4f} / {d1['Chebyshev']:.4f} | {dr['Kullback-Leibler']:.4f} / {dr['Chebyshev']:.4f} | "
                     f"**{t['Kullback-Leibler']:.4f} / {t['Chebyshev']:.4f}** | {ok[0]} / {ok[1]} |")
    if results.get("unsupervised"):
        lines += ["", "| data set | trials | Spearman(consistency, true KL) | true KL of the pick | best / median trial | rank of the pick |",
                  "|---|---|---|---|---|---|"]
        for name, r in results["unsupervised"].items():
            lines.append(f"| {name} | {r['trials']} | {r['spearman_consistency_vs_true_kl']:.2f} | {r['true_kl_of_picked']:.4f} | "
                         f"{r['true_kl_best_trial']:.4f} / {r['true_kl_median_trial']:.4f} | {r['rank_of_picked']} of {r['trials']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=[])
    parser.add_argument("--table", action="store_true", help="print the markdown tables of --out and stop")
    parser.add_argument("--section", choices=("revealed", "unsupervised"), default="revealed")
    parser.add_argument("--tuner", default="bayesian", choices=("random", "bayesian", "hyperband"))
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--max-epochs", type=int, default=None, help="per-trial budget (default: about 2000 steps)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--presets", action="store_true", help="write the best settings to lib_tf/presets.json")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "lib_tf_tuning_benchmark"),
                        help="folder of the search states (not committed)")
    parser.add_argument("--resume", action="store_true", help="continue searches found in --work")
    parser.add_argument("--out", default=str(HERE / "tuning_results.json"))
    args = parser.parse_args()
    command = "LIB_TF_DATA=" + os.environ.get("LIB_TF_DATA", "") + " python " + " ".join(shlex.quote(a) for a in sys.argv)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    if args.table:
        print(markdown_tables(results))
        return
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores shared with other work, Python {platform.python_version()}"
    for name in args.datasets:
        if args.section == "revealed":
            entry = run_revealed(name, args, command)
            results.setdefault("revealed", {})[name] = entry
            if args.presets:
                write_preset(name, entry)
        else:
            results.setdefault("unsupervised", {})[name] = run_unsupervised(name, args, command)
        out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {out}\ncommand: {command}")


if __name__ == "__main__":
    main()
