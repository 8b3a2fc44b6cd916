"""LIB's "must reach" benchmark: recovery quality against the paper and the authors' code,
beside the feature-free label softmax, and training speed against the authors' code.

    LIB_TF_DATA=../shared/ldl .venv/bin/python benchmarks/lib_benchmark.py [--section quality|speed|all]

Protocols, always labelled:
- ``T=1``: the paper's read-out;
- ``paper``: the read-out temperature T picked by KL against the ground truth of all
  instances (as the paper picks alpha and beta), scored on all instances;
- ``revealed``: T picked by KL on a revealed 10% (numpy seed 0 permutation), scored on the
  other 90%.
The label softmax softmax(l / T) gets the same three treatments. Writes
``benchmarks/lib_results.json`` (merged by section) and prints every table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402

from lib_tf import LabelEnhancer, load_ldl, score  # noqa: E402
from lib_tf.metrics import METRIC_NAMES, higher_is_better  # noqa: E402
from lib_tf.data import split_instances  # noqa: E402
from lib_tf.readout.forms import softmax_with_temperature  # noqa: E402
from lib_tf.readout.selection import select_readout  # noqa: E402

HERE = Path(__file__).resolve().parent

# (data set, alpha, beta, seeds, targets): targets are {label: six figures} to match or beat.
QUALITY_CASES = [
    ("SJAFFE", 0.001, 1.0, [0, 1, 2, 3, 4], {
        "authors' code, mean of seeds 0-4": (.087, .322, .658, .0425, .960, .888),
        "paper (seed 0)": (.071, .262, .531, .027, .974, .909)}),
    ("Yeast_alpha", 1.0, 10.0, [0, 1, 2], {"paper": (.017, .275, .893, .009, .992, .951)}),
    ("Artificial", 1.0, 10.0, [0], {"authors' code (Chebyshev only)": (.0696, None, None, None, None, None)}),
]
# The authors' PyTorch code alone on this kind of machine, 2 torch threads, 200 + 100 epochs
# (../shared/reference/official_lib_cpu_runs.csv): seconds of training (its schedule does
# not depend on alpha and beta) and its figures at the (alpha, beta) we run. Only Yeast_alpha
# has released settings; on SBU_3DFE and Movie the authors' code gives the same figures
# with (1, 10) and (0.001, 1), and ours does better with the latter.
SPEED_CASES = {
    "Yeast_alpha": (1.0, 10.0, 50.6, (.0166, .2745, .8932, .0088, .9916, .951)),
    "SBU_3DFE": (0.001, 1.0, 66.0, (.1003, .3555, .7461, .0518, .9488, .8675)),
    "Movie": (0.001, 1.0, 314.8, (.1368, .6189, 1.1698, .1304, .9152, .803)),
}


def three_protocols(logits, D):
    """Scores of softmax(logits / T) at T=1, T picked on all (paper), T picked on 10% (revealed)."""
    revealed, hidden = split_instances(len(D))
    t_paper = select_readout(logits, D)
    t_revealed = select_readout(logits[revealed], D[revealed])
    return {
        "T=1": (1.0, score(D, softmax_with_temperature(logits, 1.0))),
        "paper": (t_paper, score(D, softmax_with_temperature(logits, t_paper))),
        "revealed": (t_revealed, score(D[hidden], softmax_with_temperature(logits[hidden], t_revealed))),
    }


def row(label, values):
    if isinstance(values, dict):
        values = [values[m] for m in METRIC_NAMES]
    cells = " ".join(f"{v:>9.4f}" if v is not None else f"{'-':>9}" for v in values)
    return f"  {label:<44}{cells}"


def beats(ours, target):
    """Metrics where ``ours`` (dict) matches or beats ``target`` (tuple, None = not given)."""
    out = {}
    for metric, value in zip(METRIC_NAMES, target):
        if value is not None:
            mine = round(ours[metric], 4)
            out[metric] = mine >= value if higher_is_better(metric) else mine <= value
    return out


def mean_scores(list_of_scores):
    return {m: float(np.mean([s[m] for s in list_of_scores])) for m in METRIC_NAMES}


def run_quality(args):
    results = {}
    header = "  " + " " * 44 + "".join(f"{m[:9]:>10}" for m in METRIC_NAMES)
    for name, alpha, beta, seeds, targets in QUALITY_CASES:
        if args.datasets and name not in args.datasets:
            continue
        data = load_ldl(name)
        D, L, X = data.distributions, data.logical_labels, data.features
        per_seed, temps, seconds = {"T=1": [], "paper": [], "revealed": []}, {"paper": [], "revealed": []}, []
        for seed in seeds:
            enhancer = LabelEnhancer(alpha=alpha, beta=beta, random_state=seed)
            start = time.perf_counter()
            enhancer.fit(X, L)
            seconds.append(time.perf_counter() - start)
            for protocol, (t, values) in three_protocols(enhancer.logits(X), D).items():
                per_seed[protocol].append(values)
                if protocol != "T=1":
                    temps[protocol].append(t)
            print(f"{name} seed {seed}: {seconds[-1]:.1f} s, Chebyshev at T=1 {per_seed['T=1'][-1]['Chebyshev']:.4f}", flush=True)
        reference = three_protocols(np.asarray(L, dtype=np.float64), D)
        print(f"\n{name}: LIB alpha={alpha} (gap) beta={beta} (KL), mean of seeds {seeds}, "
              f"{LabelEnhancer().get_params()['epochs'] or 'auto'} epochs")
        print(header)
        entry = {"alpha": alpha, "beta": beta, "seeds": seeds, "train_seconds": seconds, "lib": {}, "label_softmax": {}, "checks": {}}
        for protocol in ("T=1", "paper", "revealed"):
            mean = mean_scores(per_seed[protocol])
            spread = {m: float(np.std([s[m] for s in per_seed[protocol]])) for m in METRIC_NAMES}
            t_text = "" if protocol == "T=1" else f" T={','.join(f'{t:g}' for t in sorted(set(temps[protocol])))}"
            print(row(f"LIB [{protocol}]{t_text}", mean))
            print(row("  std over seeds", spread))
            t_ref, ref_values = reference[protocol]
            print(row(f"softmax(l/T) [{protocol}] T={t_ref:g}", ref_values))
            entry["lib"][protocol] = {"mean": mean, "std": spread, "temperatures": temps.get(protocol, [1.0] * len(seeds))}
            entry["label_softmax"][protocol] = {"temperature": t_ref, "scores": ref_values}
            wins = beats(mean, tuple(ref_values[m] for m in METRIC_NAMES))
            entry["checks"][f"LIB [{protocol}] vs softmax(l/T) [{protocol}]"] = wins
        for label, target in targets.items():
            print(row(label, target))
            for protocol in ("T=1", "paper", "revealed"):
                wins = beats(entry["lib"][protocol]["mean"], target)
                entry["checks"][f"LIB [{protocol}] vs {label}"] = wins
        print("  matches or beats (per metric):")
        for check, wins in entry["checks"].items():
            print(f"    {check}: {sum(wins.values())}/{len(wins)}" + ("" if all(wins.values()) else
                  f" (not: {', '.join(m for m, ok in wins.items() if not ok)})"))
        results[name] = entry
    return results


#: Settings timed against the authors' code: the defaults, and narrower networks reading h
#: (the encoder keeps the paper's 256 units; the three heads are two thirds of the FLOPs).
SPEED_VARIANTS = {"defaults": {}, "head_units=64": {"head_units": 64}, "head_units=32": {"head_units": 32},
                  "head_units=32, latent_dim=64": {"head_units": 32, "latent_dim": 64}}


def run_speed(args):
    """Each repeat times every variant back to back, so the variants share the machine's
    state of the moment; medians over repeats."""
    results = {}
    for name, (alpha, beta, their_seconds, their_scores) in SPEED_CASES.items():
        if args.datasets and name not in args.datasets:
            continue
        data = load_ldl(name)
        times = {variant: [] for variant in args.variants}
        scores = {variant: [] for variant in args.variants}
        epochs = {}
        for repeat in range(args.repeats):
            for variant in args.variants:
                enhancer = LabelEnhancer(alpha=alpha, beta=beta, random_state=repeat, network_dtype=args.network_dtype,
                                         **SPEED_VARIANTS[variant])
                start = time.perf_counter()
                enhancer.fit(data.features, data.logical_labels)
                times[variant].append(time.perf_counter() - start)
                scores[variant].append(three_protocols(enhancer.logits(data.features), data.distributions)["paper"][1])
                epochs[variant] = (enhancer.epochs_, enhancer.batch_size)
        for variant in args.variants:
            median = float(np.median(times[variant]))
            quality = mean_scores(scores[variant])
            wins = beats(quality, their_scores)
            print(f"\n{name} [{variant}]: LIB alpha={alpha} beta={beta} {args.network_dtype}, {epochs[variant][0]} epochs of "
                  f"batch {epochs[variant][1]}; training {', '.join(f'{t:.1f}' for t in times[variant])} s (median "
                  f"{median:.1f} s) vs the authors' {their_seconds:.1f} s: {their_seconds / median:.1f}x faster")
            print(row("LIB [paper T]", quality))
            print(row("authors' code", their_scores))
            print(f"  matches or beats the authors' quality on {sum(wins.values())}/6")
            results[f"{name} ({args.network_dtype}, {variant})"] = {
                "alpha": alpha, "beta": beta, "network_dtype": args.network_dtype, "settings": SPEED_VARIANTS[variant],
                "load_average_after": os.getloadavg()[0], "train_seconds": times[variant], "median_seconds": median,
                "authors_seconds": their_seconds, "speedup": their_seconds / median, "epochs": epochs[variant][0],
                "batch_size": epochs[variant][1], "quality_paper_T": quality, "beats_authors": wins}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--section", choices=("quality", "speed", "all"), default="all")
    parser.add_argument("--datasets", nargs="*", help="restrict to these data sets")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per data set (median reported)")
    parser.add_argument("--network-dtype", default="float32", choices=("float32", "mixed_bfloat16"))
    parser.add_argument("--variants", nargs="+", default=list(SPEED_VARIANTS), choices=tuple(SPEED_VARIANTS),
                        help="settings timed in the speed section (default: all)")
    parser.add_argument("--out", default=str(HERE / "lib_results.json"))
    args = parser.parse_args()
    command = "LIB_TF_DATA=" + os.environ.get("LIB_TF_DATA", "") + " python " + " ".join(shlex.quote(a) for a in sys.argv)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    for section, runner in (("quality", run_quality), ("speed", run_speed)):
        if args.section in (section, "all"):
            found = runner(args)
            stored = results.setdefault(section, {})
            for key, value in found.items():  # a rerun adds "#2", "#3", ...: earlier runs are kept
                numbered, count = key, 1
                while numbered in stored:
                    count += 1
                    numbered = f"{key} #{count}"
                stored[numbered] = value
            results.setdefault("commands", {})[section] = command
            results.setdefault("machine", machine)
    out.write_text(json.dumps(results, indent=1))
    print(f"\nwrote {out}\ncommand: {command}\nmachine: {machine}")


if __name__ == "__main__":
    main()
