"""What a change of LabelEnhancer's defaults (a larger batch, narrower networks) costs in
quality, and what it saves in time.

For each data set, fits ``LabelEnhancer`` at its defaults and with each ``--variant`` (JSON of
settings changed, e.g. ``'{"batch_size": 512, "learning_rate": 0.002}'``; the same epochs as
the defaults unless it sets ``epochs``), interleaved, with the same seeds. It scores the read-out twice: at T = 1 (the paper's), and with T picked on a
revealed 10% and scored on the other 90% (the blind protocol, ``lib_tf.data.split_instances``).
Prints per data set the fit seconds and Chebyshev/KL of each, then per variant how many of the
6 x data-set blind cells it is better, equal (3 decimals) or worse than the defaults on, and
the median time ratio.

    python benchmarks/default_variants.py [--datasets ...] [--seeds 0] [--variant JSON ...]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lib_tf import LabelEnhancer, load_ldl  # noqa: E402
from lib_tf.data import PAPER_DATASETS, split_instances  # noqa: E402
from lib_tf.metrics import METRIC_NAMES, score  # noqa: E402
from lib_tf.model.epochs import auto_epochs  # noqa: E402

LOWER_IS_BETTER = {"Chebyshev", "Clark", "Canberra", "Kullback-Leibler"}


def fit_and_score(data, settings: dict, seed: int) -> dict:
    """Fit seconds and the six metrics at T = 1 and blind (T picked on a revealed 10%). A
    variant runs the defaults' epochs unless it sets its own: the same passes over the data,
    so the same arithmetic (the automatic count aims at a number of steps, which a larger
    batch would turn into more epochs)."""
    settings = {"epochs": auto_epochs(data.n_instances, LabelEnhancer().batch_size), **settings}
    enhancer = LabelEnhancer(random_state=seed, **settings)
    start = time.perf_counter()
    enhancer.fit(data.features, data.logical_labels)
    seconds = time.perf_counter() - start
    paper = score(data.distributions, enhancer.distributions_)
    revealed, rest = split_instances(data.n_instances, 0.1, seed)
    enhancer.select_temperature(data.features[revealed], data.distributions[revealed])
    blind = score(data.distributions[rest], enhancer.distributions_[rest])
    return {"seconds": seconds, "paper": paper, "blind": blind, "temperature": enhancer.temperature_}


def compare(variant: dict, reference: dict) -> tuple:
    """(better, equal, worse) over the six blind metrics, at 3 decimals."""
    better = equal = worse = 0
    for name in METRIC_NAMES:
        a, b = round(variant["blind"][name], 3), round(reference["blind"][name], 3)
        if a == b:
            equal += 1
        elif (a < b) == (name in LOWER_IS_BETTER):
            better += 1
        else:
            worse += 1
    return better, equal, worse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(PAPER_DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--variant", action="append", default=None,
                        help='settings changed from the defaults, as JSON (repeatable; default: '
                             '{"batch_size": 512, "learning_rate": 0.002})')
    args = parser.parse_args(argv)
    variants = [json.loads(text) for text in (args.variant or ['{"batch_size": 512, "learning_rate": 0.002}'])]
    configs = [("defaults", {})] + [(json.dumps(v, sort_keys=True), v) for v in variants]
    results = {}
    for dataset in args.datasets:
        data = load_ldl(dataset)
        for seed in args.seeds:
            order = configs if seed % 2 == 0 else configs[::-1]  # interleaved: neither always runs first
            for name, settings in order:
                results[(dataset, seed, name)] = run = fit_and_score(data, settings, seed)
                print(f"{dataset:>12} seed {seed} {name:>45}: {run['seconds']:6.1f} s, T=1 Cheb "
                      f"{run['paper']['Chebyshev']:.4f} KL {run['paper']['Kullback-Leibler']:.4f}; blind (T="
                      f"{run['temperature']:g}) Cheb {run['blind']['Chebyshev']:.4f} KL "
                      f"{run['blind']['Kullback-Leibler']:.4f}", flush=True)
    print()
    for name, _ in configs[1:]:
        totals, ratios = [0, 0, 0], []
        for dataset in args.datasets:
            for seed in args.seeds:
                counts = compare(results[(dataset, seed, name)], results[(dataset, seed, "defaults")])
                totals = [t + c for t, c in zip(totals, counts)]
                ratios.append(results[(dataset, seed, "defaults")]["seconds"] / results[(dataset, seed, name)]["seconds"])
        print(f"{name} against the defaults, blind cells: better {totals[0]}, equal {totals[1]}, worse {totals[2]} "
              f"(of {sum(totals)}); fit time defaults / variant, median {statistics.median(ratios):.2f}x")
    print("\ncommand: python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
