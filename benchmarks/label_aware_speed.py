"""Fit time of the label-aware LIB against the paper's LIB at the same network sizes.

Both models are fitted by ``LabelEnhancer`` with the same settings (the label-aware model's
shipped sizes and training schedule), interleaved (LIB, LA-LIB, LIB, ...) so that a busy
machine slows both alike; prints per-data-set medians and their ratio.

    python benchmarks/label_aware_speed.py [--datasets Yeast_alpha SBU_3DFE Movie] [--repeats 3]
"""
import argparse
import statistics
import sys
import time

from lib_tf import LabelEnhancer
from lib_tf.data import load_ldl
from lib_tf.hparams import MODEL_DEFAULTS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["Yeast_alpha", "SBU_3DFE", "Movie"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    settings = {k: v for k, v in MODEL_DEFAULTS["label-aware"].items() if k not in ("model", "label_temperature", "label_dropout")}
    print(f"command: python benchmarks/label_aware_speed.py --datasets {' '.join(args.datasets)} --repeats {args.repeats}")
    print(f"shared settings: {settings}; LA-LIB adds label_dropout {MODEL_DEFAULTS['label-aware']['label_dropout']}")
    print("| data set | LIB median s | LA-LIB median s | ratio LA-LIB / LIB |")
    print("|---|---|---|---|")
    for name in args.datasets:
        data = load_ldl(name)
        times = {"paper": [], "label-aware": []}
        for repeat in range(args.repeats):
            for model in times:
                extra = {"label_dropout": MODEL_DEFAULTS["label-aware"]["label_dropout"]} if model == "label-aware" else {}
                enhancer = LabelEnhancer(model=model, random_state=repeat, **settings, **extra)
                start = time.perf_counter()
                enhancer.fit(data.features, data.logical_labels)
                times[model].append(time.perf_counter() - start)
        lib, aware = statistics.median(times["paper"]), statistics.median(times["label-aware"])
        print(f"| {name} | {lib:.1f} | {aware:.1f} | {aware / lib:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
