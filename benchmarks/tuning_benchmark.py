"""Tuned LIB (or LA-LIB) against its shipped settings on the unrevealed 90% (the 'revealed'
protocol), and how well each ground-truth-free objective tracks the true KL.

    LIB_TF_DATA=../shared/ldl .venv/bin/python benchmarks/tuning_benchmark.py \\
        --datasets SJAFFE Yeast_cold --tuner bayesian --trials 15 [--model label-aware] [--seeds 0 1 2] [--presets]

Per data set (``--section revealed``, the default):
1. the revealed share: ``np.random.default_rng(0).permutation(n)``, first ``round(0.1 n)``
   (as ``benchmarks/lib_benchmark.py`` and ``lib-tf enhance --reveal 0.1 --seed 0``);
2. the shipped settings, ``LabelEnhancer(random_state=s)`` (alpha=0.001, beta=1, about 2000
   Adam steps) or with ``--model label-aware`` ``LabelEnhancer.label_aware(random_state=s)``
   (its read-out chosen without truth), read out as fitted (T=1; truth-free) and with the
   read-out picked by KL on the revealed share (``select_temperature``; label-aware: (T, T_l)
   with the labels);
3. the search: ``lib_tf.tuning.run_search`` (exactly what ``lib-tf tune --dataset NAME
   [--model label-aware] --tuner ... --trials ... --objective revealed --reveal 0.1 --seed 0``
   runs), timed; the revealed share is its only ground truth;
4. tuned: ``LabelEnhancer(**best_hparams, random_state=s)`` refitted on all instances;
every figure is on the other 90%. ``--presets`` also writes the best settings, with the
command that found them, into ``lib_tf/presets.json`` (label-aware: as ``NAME-label-aware``).

``--section objectives`` instead runs one random search per objective that uses no ground
truth (``--objectives``), the same trials for each (same seeds, same held-out 20%), with the
true KL on all instances kept per trial (diagnostics only, never used to choose), and reports
how well each objective tracks it (Spearman over the trials) and what its pick is worth. (The
former ``unsupervised`` objective's figures beside ``truth-free`` in ``benchmarks/TUNING.md``
were measured so at commit 8db3881, the last that had it.)

Results merge into ``benchmarks/tuning_results.json`` (one entry per data set and section),
so data sets can be run one at a time.
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
from scipy.stats import spearmanr  # noqa: E402

from lib_tf import LabelEnhancer, load_ldl, score  # noqa: E402
from lib_tf.cli.tune import trial_printer  # noqa: E402
from lib_tf.data import split_instances  # noqa: E402
from lib_tf.hparams import PRESETS_FILE  # noqa: E402
from lib_tf.metrics import METRIC_NAMES, kullback_leibler  # noqa: E402
from lib_tf.tuning import OBJECTIVES, run_search  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARE = 0.1
#: The shipped settings a search is measured against, per model.
SHIPPED = {"paper": ("LIB defaults", LabelEnhancer), "label-aware": ("label_aware()", LabelEnhancer.label_aware)}


def fit_and_score(make, params, X, L, D, revealed, hidden, seed, label_aware):
    """Fit ``make(**params, random_state=seed)``; its distributions as fitted and with the read-out
    picked on the revealed share, scored on the hidden rest."""
    enhancer = make(**{**params, "random_state": seed})
    start = time.perf_counter()
    enhancer.fit(X, L)
    seconds = time.perf_counter() - start
    fitted, fixed = enhancer.distributions_, [enhancer.temperature_, enhancer.label_temperature_]
    enhancer.select_temperature(X[revealed], D[revealed], L=L[revealed] if label_aware else None)
    return {"seconds": seconds, "T_fixed": fixed, "T_revealed": [enhancer.temperature_, enhancer.label_temperature_],
            "revealed_kl_at_fixed_T": kullback_leibler(D[revealed], fitted[revealed]),
            "at_fixed_T": score(D[hidden], fitted[hidden]), "at_revealed_T": score(D[hidden], enhancer.distributions_[hidden])}


def mean(runs, key):
    return {m: float(np.mean([r[key][m] for r in runs])) for m in METRIC_NAMES}


def row(label, values):
    return f"  {label:<48}" + "".join(f"{values[m]:>10.4f}" for m in METRIC_NAMES)


def readout_text(temperatures, label_aware):
    """``T``, or ``T/T_l`` for the label-aware model (None: the labels' term dropped, inf)."""
    temperature, label_temperature = temperatures
    return f"{temperature:g}" + (f"/{label_temperature or float('inf'):g}" if label_aware else "")


def tune_command(name, args, out):
    model = f" --model {args.model}" if args.model != "paper" else ""
    return (f"lib-tf tune --dataset {name}{model} --tuner {args.tuner} --trials {args.trials} --objective revealed "
            f"--reveal {SHARE} --seed 0" + (f" --max-epochs {args.max_epochs}" if args.max_epochs else "")
            + f" --out {out}")


def section_key(model):
    return "revealed" if model == "paper" else f"revealed ({model})"


def truth_free_readout(params, X, L, D, hidden, seed):
    """``params`` read out without truth (``readout="truth-free"``, the temperatures left out),
    scored on the hidden rows."""
    settings = {k: v for k, v in params.items() if k not in ("temperature", "label_temperature")}
    enhancer = LabelEnhancer(**{**settings, "readout": "truth-free", "random_state": seed}).fit(X, L)
    return score(D[hidden], enhancer.distributions_[hidden])


def print_revealed(name, args, summary, best, defaults, tuned, figures):
    label_aware = args.model == "label-aware"
    shipped_name, _ = SHIPPED[args.model]
    print(f"\n{name}: search {summary['search_seconds']:.0f} s ({summary['trials_done']} trials, {args.tuner}); "
          f"best {json.dumps(best)}")
    print("  " + " " * 48 + "".join(f"{m[:9]:>10}" for m in METRIC_NAMES))
    print(row(f"{shipped_name}, {figures['fixed_readout']}", figures["fixed"]))
    print(row(f"{shipped_name}, read-out on revealed ({','.join(readout_text(r['T_revealed'], label_aware) for r in defaults)})",
              figures["revealed T"]))
    print(row(f"tuned (revealed), read-out {readout_text(tuned[0]['T_fixed'], label_aware)}", figures["tuned"]))
    if "tuned truth-free" in figures:
        print(row("tuned settings, truth-free read-out", figures["tuned truth-free"]))
    print(f"  tuned beats: {figures['wins']}", flush=True)
    print(f"  revealed KL: best trial {summary['best_score']:.5f}, refit with its settings (seed 0) "
          f"{tuned[0]['revealed_kl_at_fixed_T']:.5f}", flush=True)


def run_revealed(name, args, command):
    data = load_ldl(name)
    X, L, D = data.features, data.logical_labels, data.distributions
    revealed, hidden = split_instances(len(X), SHARE, 0)
    label_aware = args.model == "label-aware"
    shipped_name, shipped = SHIPPED[args.model]
    print(f"\n== {name} ({args.model}): n={len(X)} d={X.shape[1]} c={L.shape[1]}; revealed {len(revealed)}, "
          f"scored on {len(hidden)}", flush=True)
    defaults = [fit_and_score(shipped, {}, X, L, D, revealed, hidden, s, label_aware) for s in args.seeds]
    print(f"{shipped_name} fitted in " + ", ".join(f"{r['seconds']:.1f}" for r in defaults) + " s", flush=True)
    out = Path(args.work) / (name if not label_aware else f"{name}-label-aware")
    start = time.perf_counter()
    best = run_search(data, kind=args.tuner, trials=args.trials, objective="revealed", reveal=SHARE, seed=0, out=out,
                      overwrite=not args.resume, max_epochs=args.max_epochs, progress=trial_printer("revealed"),
                      command=tune_command(name, args, out), fixed={"model": args.model} if label_aware else None)
    summary = {**json.loads((out / "search_summary.json").read_text()), "search_seconds": time.perf_counter() - start}
    tuned = [fit_and_score(LabelEnhancer, best, X, L, D, revealed, hidden, s, label_aware) for s in args.seeds]
    figures = {"fixed": mean(defaults, "at_fixed_T"), "fixed_readout": "truth-free read-out" if label_aware else "T=1",
               "revealed T": mean(defaults, "at_revealed_T"), "tuned": mean(tuned, "at_fixed_T")}
    if label_aware:  # the shipped settings read out without truth: read the tuned ones so too
        runs = [truth_free_readout(best, X, L, D, hidden, s) for s in args.seeds]
        figures["tuned truth-free"] = {m: float(np.mean([r[m] for r in runs])) for m in METRIC_NAMES}
    figures["wins"] = {against: {m: (figures["tuned"][m] < figures[ref][m]) for m in ("Kullback-Leibler", "Chebyshev")}
                       for against, ref in (("defaults fixed", "fixed"), ("defaults revealed T", "revealed T"))}
    print_revealed(name, args, summary, best, defaults, tuned, figures)
    search_seconds = summary["search_seconds"] if not args.resume else None  # a resumed search's time is not its own
    return {"model": args.model, "n": len(X), "revealed": len(revealed), "scored": len(hidden), "seeds": args.seeds,
            "tuner": args.tuner, "trials": summary["trials_done"],
            "search_seconds": round(search_seconds, 1) if search_seconds is not None else None,
            "best_revealed_kl": summary["best_score"], "hparams": best,
            "defaults": {"fixed": figures["fixed"], "fixed_readout": figures["fixed_readout"],
                         "revealed T": figures["revealed T"], "T_revealed": [r["T_revealed"] for r in defaults],
                         "per_seed_kl": {"fixed": [r["at_fixed_T"]["Kullback-Leibler"] for r in defaults],
                                         "revealed T": [r["at_revealed_T"]["Kullback-Leibler"] for r in defaults]},
                         "fit_seconds": [round(r["seconds"], 1) for r in defaults]},
            "tuned": {"at its T": figures["tuned"], "truth-free read-out": figures.get("tuned truth-free"),
                      "refit_revealed_kl": [r["revealed_kl_at_fixed_T"] for r in tuned],
                      "fit_seconds": [round(r["seconds"], 1) for r in tuned],
                      "per_seed_kl": [r["at_fixed_T"]["Kullback-Leibler"] for r in tuned]},
            "tuned_beats": figures["wins"], "tune_command": tune_command(name, args, out), "command": command}


def search_with_truth_kept(data, objective, args):
    """A random search under ``objective`` with the true KL of every trial kept (never used to choose)."""
    from lib_tf.tuning import completed_trials, default_max_epochs, make_tuner

    out = Path(args.work) / f"{data.name}_{args.model}_{objective}"
    metric = OBJECTIVES[objective]
    tuner = make_tuner("random", data.n_labels, out, objective=objective, trials=args.trials,
                       max_epochs=args.max_epochs or default_max_epochs(data.n_instances), seed=0,
                       overwrite=not args.resume, diagnose=True, n_instances=data.n_instances,
                       fixed={"model": args.model} if args.model != "paper" else None,
                       progress=lambda t, trial: print(f"{objective} trial {trial.trial_id}: {metric} {trial.score:.4f} "
                                                       f"true KL {trial.metrics.get_last_value('truth_kl'):.4f}", flush=True))
    start = time.perf_counter()
    tuner.search(data.features, data.logical_labels, distributions=data.distributions, share=0.2, split_seed=0, verbose=0)
    seconds = time.perf_counter() - start
    trials = sorted(completed_trials(tuner), key=lambda t: t.trial_id)
    return trials, seconds


def run_objectives(name, args, command):
    """Per objective: Spearman(objective, true KL on all instances) over the same trials, and its pick."""
    data = load_ldl(name)
    result = {"model": args.model, "command": command}
    for objective in args.objectives:
        trials, seconds = search_with_truth_kept(data, objective, args)
        values = [t.score for t in trials]
        truth = [t.metrics.get_last_value("truth_kl") for t in trials]
        picked = truth[int(np.argmin(values))]
        result[objective] = {
            "trials": len(trials), "search_seconds": round(seconds, 1), "spearman": float(spearmanr(values, truth)[0]),
            "true_kl_of_pick": picked, "true_kl_best_trial": float(min(truth)),
            "true_kl_median_trial": float(np.median(truth)), "true_kl_first_trial": truth[0],
            "rank_of_pick": int(sorted(truth).index(picked)) + 1, "objective_values": values, "true_kl": truth,
            "trial_values": [t.hyperparameters.values for t in trials]}
        print(f"\n{name} {objective}: " + json.dumps({k: v for k, v in result[objective].items()
                                                      if k not in ("objective_values", "true_kl", "trial_values")}))
    return result


def _fixed(entry):
    """The shipped settings' figures as fitted, and which of them the tuned ones beat (entries
    written before the label-aware model named them ``T=1``)."""
    defaults, beats = entry["defaults"], entry["tuned_beats"]
    return (defaults.get("fixed", defaults.get("T=1")),
            beats.get("defaults fixed", beats.get("defaults T=1")), beats["defaults revealed T"])


def preset_name(name, model):
    return name if model == "paper" else f"{name}-{model}"


def write_preset(name, entry):
    presets = json.loads(PRESETS_FILE.read_text()) if PRESETS_FILE.is_file() else {"presets": {}}
    fixed, _, _ = _fixed(entry)
    revealed = entry["defaults"]["revealed T"]
    presets["presets"][preset_name(name, entry.get("model", "paper"))] = {
        "hparams": entry["hparams"], "command": entry["tune_command"],
        "search": {"tuner": entry["tuner"], "trials": entry["trials"], "seconds": entry["search_seconds"],
                   "revealed_kl": entry["best_revealed_kl"]},
        "scored_on_unrevealed_90pct": {"tuned_kl": entry["tuned"]["at its T"]["Kullback-Leibler"],
                                       "tuned_chebyshev": entry["tuned"]["at its T"]["Chebyshev"],
                                       "defaults_kl": fixed["Kullback-Leibler"], "defaults_chebyshev": fixed["Chebyshev"],
                                       "defaults_revealed_readout_kl": revealed["Kullback-Leibler"],
                                       "defaults_revealed_readout_chebyshev": revealed["Chebyshev"]},
    }
    presets["presets"] = dict(sorted(presets["presets"].items()))
    PRESETS_FILE.write_text(json.dumps(presets, indent=1) + "\n")


def _revealed_table(entries, shipped, fixed_readout):
    truth_free = any((r["tuned"].get("truth-free read-out") or {}) for r in entries.values())
    extra = " tuned settings, truth-free read-out KL / Cheb |" if truth_free else ""
    lines = [f"| data set | search | trials | search time | {shipped}, {fixed_readout} KL / Cheb | {shipped}, read-out "
             f"on revealed KL / Cheb | tuned KL / Cheb |{extra} beats {shipped} ({fixed_readout} / read-out on revealed) |",
             "|---" * (9 if truth_free else 8) + "|"]
    for name, r in entries.items():
        d1, w1, wr = _fixed(r)
        dr, t = r["defaults"]["revealed T"], r["tuned"]["at its T"]
        ok = ["yes" if all(w.values()) else "no (" + ", ".join(m for m, v in w.items() if not v) + ")" for w in (w1, wr)]
        tf = r["tuned"].get("truth-free read-out")
        cell = f" {tf['Kullback-Leibler']:.4f} / {tf['Chebyshev']:.4f} |" if truth_free else ""
        lines.append(f"| {name} | {r['tuner']} | {r['trials']} | {r['search_seconds']:.0f} s | "
                     f"{d1['Kullback-Leibler']:.4f} / {d1['Chebyshev']:.4f} | {dr['Kullback-Leibler']:.4f} / {dr['Chebyshev']:.4f} | "
                     f"**{t['Kullback-Leibler']:.4f} / {t['Chebyshev']:.4f}** |{cell} {ok[0]} / {ok[1]} |")
    return lines


def _objectives_table(entries):
    lines = ["| data set | model | objective | trials | Spearman(objective, true KL) | true KL of the pick | "
             "best / median trial | first trial (shipped settings) | rank of the pick |", "|---" * 9 + "|"]
    for name, entry in entries.items():
        for objective, r in entry.items():
            if isinstance(r, dict):
                lines.append(f"| {name} | {entry['model']} | {objective} | {r['trials']} | {r['spearman']:.2f} | "
                             f"{r['true_kl_of_pick']:.4f} | {r['true_kl_best_trial']:.4f} / {r['true_kl_median_trial']:.4f} | "
                             f"{r['true_kl_first_trial']:.4f} | {r['rank_of_pick']} of {r['trials']} |")
    return lines


def markdown_tables(results):
    """The must-reach tables (KL and Chebyshev on the unrevealed 90%) and the objectives' one."""
    lines = _revealed_table(results.get("revealed", {}), "defaults", "T=1")
    for model in ("label-aware",):
        if results.get(section_key(model)):
            lines += ["", *_revealed_table(results[section_key(model)], "label_aware()", "truth-free read-out")]
    if results.get("objectives"):
        lines += ["", *_objectives_table(results["objectives"])]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=[])
    parser.add_argument("--table", action="store_true", help="print the markdown tables of --out and stop")
    parser.add_argument("--section", choices=("revealed", "objectives"), default="revealed")
    parser.add_argument("--model", choices=tuple(SHIPPED), default="paper")
    parser.add_argument("--objectives", nargs="+", default=[o for o in OBJECTIVES if o != "revealed"],
                        choices=[o for o in OBJECTIVES if o != "revealed"], help="--section objectives: which")
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
            earlier = results.get(section_key(args.model), {}).get(name, {})
            if entry["search_seconds"] is None:  # resumed: the time of the run that searched
                entry["search_seconds"] = earlier.get("search_seconds")
            results.setdefault(section_key(args.model), {})[name] = entry
            if args.presets:
                write_preset(name, entry)
        else:
            results.setdefault("objectives", {})[f"{name} ({args.model})"] = run_objectives(name, args, command)
        out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {out}\ncommand: {command}")


if __name__ == "__main__":
    main()
