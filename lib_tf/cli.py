"""The ``lib-tf`` command line."""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

from ._arguments import add_dataset_arguments, load_dataset_argument
from ._files import save_npy_atomic, write_atomic
from ._version import __version__
from .baselines.reference import label_softmax
from .data import LDLDataset, load_ldl, split_instances
from .enhancer import MODELS, LabelEnhancer
from .metrics import METRIC_NAMES, score
from .model.temperature import select_temperature


def format_table(rows, columns=METRIC_NAMES) -> str:
    """Rows of ``(label, {metric: value})`` as an aligned text table."""
    width = max(len(label) for label, _ in rows) + 2
    cell = max(13, max(len(c) for c in columns) + 1)
    lines = [" " * width + "".join(f"{c:>{cell}}" for c in columns)]
    for label, values in rows:
        lines.append(f"{label:<{width}}" + "".join(f"{values[c]:>{cell}.4f}" for c in columns))
    return "\n".join(lines)


def _read_matrix(path: str, name: str) -> np.ndarray:
    """A 2-D array from .npy or .csv (comma-separated, no header)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{name}: no file at {file}")
    if file.suffix == ".npy":
        array = np.load(file, allow_pickle=False)
    elif file.suffix == ".csv":
        array = np.loadtxt(file, delimiter=",", ndmin=2)
    else:
        raise ValueError(f"{name}: expected a .npy or .csv file, got {file.name}")
    return array


def _load_input(args) -> LDLDataset:
    sources = [bool(args.dataset), bool(args.mat), bool(args.features)]
    if sum(sources) != 1:
        raise ValueError("give exactly one of --dataset NAME, --mat PATH or --features FILE (with --labels FILE)")
    if args.dataset or args.mat:
        return load_dataset_argument(args)
    if not args.labels:
        raise ValueError("--features needs --labels FILE (the logical labels, n x c of 0/1)")
    truth = _read_matrix(args.distributions, "--distributions") if args.distributions else None
    return LDLDataset(Path(args.features).stem, _read_matrix(args.features, "--features"), truth,
                      _read_matrix(args.labels, "--labels"), source=str(args.features))


def _cmd_enhance(args) -> int:
    if args.input or args.strategy:  # streamed shards and/or tf.distribute: lib_tf/distribute.py
        from .distribute import enhance

        if args.input and (args.dataset or args.mat or args.features):
            raise ValueError("give exactly one of --dataset NAME, --mat PATH, --features FILE or --input GLOB")
        return enhance(args, None if args.input else _load_input(args))

    dataset = _load_input(args)
    out = Path(args.out)
    result_file = out / "distributions.npy"
    if result_file.exists() and not args.overwrite:
        raise ValueError(f"--out {out} already holds a finished result ({result_file.name}); "
                         "choose another folder or pass --overwrite")
    if args.reveal and dataset.distributions is None:
        raise ValueError("--reveal needs ground-truth distributions (a .mat data set or --distributions)")
    if not 0 <= args.reveal < 1:
        raise ValueError(f"--reveal must lie in [0, 1), got {args.reveal}")
    if args.with_labels and not args.reveal:
        raise ValueError("--with-labels picks its two temperatures on revealed ground truth: give --reveal too")
    if args.figure and (dataset.n_labels != 3 or dataset.distributions is None):
        raise ValueError("--figure draws the toy picture: it needs 3 labels and ground truth")
    print(dataset)
    from .tuning import enhancer_params_from_args  # the flags, or --hparams / --preset

    enhancer = LabelEnhancer(**enhancer_params_from_args(args))
    start = time.perf_counter()
    enhancer.fit(dataset.features, dataset.logical_labels)
    seconds = time.perf_counter() - start
    scored = np.arange(dataset.n_instances)
    if args.reveal:
        revealed, scored = split_instances(dataset.n_instances, args.reveal, args.seed)
        cut = len(revealed)
        labels = dataset.logical_labels[revealed] if args.with_labels or enhancer.model == "label-aware" else None
        enhancer.select_temperature(dataset.features[revealed], dataset.distributions[revealed], L=labels)
        readout = f"T={enhancer.temperature_:g}" + (f", label temperature T_l={enhancer.label_temperature_:g}"
                                                    if enhancer.label_temperature_ is not None else "")
        print(f"read-out {readout}, picked by KL on a revealed {args.reveal:.0%} "
              f"({cut} instances); figures below are on the other {len(scored)}")
        reference_t = select_temperature(dataset.logical_labels[revealed], dataset.distributions[revealed])
    else:
        reference_t = enhancer.temperature_
    recovered = enhancer.distributions_
    # distributions.npy marks a finished result: it goes first when a result is replaced and
    # comes last, each file written whole, so a kill at any moment never leaves a folder that
    # looks finished but is not (a rerun then simply computes it again).
    result_file.unlink(missing_ok=True)
    csv = io.StringIO()
    np.savetxt(csv, recovered, delimiter=",", fmt="%.6f")
    write_atomic(out / "distributions.csv", csv.getvalue())
    # the read-out used (select_temperature's choice), so that the settings refit this result
    settings = {**enhancer.get_params(), "temperature": enhancer.temperature_,
                "label_temperature": enhancer.label_temperature_, "epochs_run": enhancer.epochs_, "train_seconds": round(seconds, 2),
                "data": dataset.name, "source": dataset.source, "n": dataset.n_instances, "d": dataset.n_features,
                "c": dataset.n_labels, "reveal": args.reveal, "lib_tf_version": __version__}
    rows = []
    if dataset.distributions is not None:
        D, L = dataset.distributions[scored], dataset.logical_labels[scored]
        name = "LA-LIB" if enhancer.model == "label-aware" else "LIB" if enhancer.label_temperature_ is None else "LIB+l"
        rows = [(name, score(D, recovered[scored])),
                ("l / sum(l)", score(D, L / L.sum(axis=1, keepdims=True))),
                (f"softmax(l / {reference_t:g})", score(D, label_softmax(L, reference_t)))]
        print(format_table(rows))
        settings["metrics"] = dict(rows)
    write_atomic(out / "settings.json", json.dumps(settings, indent=2, default=str))
    if args.figure:
        from .plots import plot_toy_recovery

        path = plot_toy_recovery(dataset.features, {"ground truth": dataset.distributions, "LIB": recovered,
                                                    "l / sum(l)": dataset.logical_labels / dataset.logical_labels.sum(1, keepdims=True)},
                                 out / "toy_recovery.png", title=f"{dataset.name}: label distributions as RGB")
        print(f"wrote {path}")
    save_npy_atomic(result_file, recovered)
    print(f"trained in {seconds:.1f} s; wrote {result_file}, distributions.csv and settings.json to {out}")
    return 0


def _cmd_info(args) -> int:
    dataset = load_ldl(args.dataset)
    print(dataset)
    print(f"source: {dataset.source or 'generated'}")
    print(f"relevant labels per instance: {dataset.logical_labels.sum(axis=1).mean():.2f} on average")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lib-tf", description="Label Enhancement with the Label Information Bottleneck")
    sub = parser.add_subparsers(dest="command", required=True)
    enhance = sub.add_parser("enhance", help="recover label distributions with LIB",
                             description="Fit LIB on features and logical labels and write the recovered distributions.")
    source = add_dataset_arguments(enhance)
    source.add_argument("--features", help=".npy or .csv features (n x d), with --labels")
    source.add_argument("--input", help="glob of on-disk shards streamed with bounded memory: TFRecord "
                        "(tf.Example float lists 'features', 'logical_labels') or NumPy pairs "
                        "<stem>.features.npy + <stem>.logical_labels.npy, e.g. 'shards/*.tfrecord'")
    enhance.add_argument("--labels", help=".npy or .csv logical labels (n x c, 0/1)")
    enhance.add_argument("--distributions", help="optional .npy or .csv ground truth, for scoring")
    enhance.add_argument("--model", choices=MODELS, default="paper",
                         help="paper: the paper's LIB; label-aware: LIB whose posterior reads the logical labels too, "
                              "with its shipped settings (LabelEnhancer.label_aware()), which the flags below change")
    enhance.add_argument("--alpha", type=float, help="weight of the label-gap term (default: paper 0.001, label-aware 1)")
    enhance.add_argument("--beta", type=float, help="weight of the KL / bottleneck term (default: paper 1, label-aware 10)")
    enhance.add_argument("--temperature", type=float, help="read-out temperature T of the model's logits "
                                                           "(default: paper 1, label-aware its shipped one)")
    enhance.add_argument("--reveal", type=float, default=0.0,
                         help="pick T on this share of instances' ground truth and score on the rest (e.g. 0.1)")
    enhance.add_argument("--with-labels", action="store_true",
                         help="with --reveal: read out softmax(z / T + l / T_l), each instance's logical labels "
                              "beside the model's logits, both temperatures picked on the revealed share")
    enhance.add_argument("--epochs", type=int, default=None, help="default: about 2000 Adam steps, 20 to 300 epochs")
    enhance.add_argument("--batch-size", type=int, default=128)
    enhance.add_argument("--seed", type=int, default=0)
    enhance.add_argument("--out", default="lib_tf_output", help="folder for the outputs")
    enhance.add_argument("--overwrite", action="store_true", help="replace a finished result in --out")
    enhance.add_argument("--figure", action="store_true", help="also draw the toy picture (3 labels)")
    enhance.add_argument("--quiet", action="store_true", help="no progress bar")
    enhance.add_argument("--strategy", choices=("default", "mirrored", "multi-worker"), default=None,
                         help="tf.distribute strategy: mirrored (local devices) or multi-worker (cluster from TF_CONFIG)")
    enhance.add_argument("--backup-dir", help="BackupAndRestore folder with --input/--strategy (default <out>/backup): "
                         "a killed run started again resumes from its last epoch")
    from .tuning import add_enhance_arguments, add_tune_parser

    add_enhance_arguments(enhance)  # --hparams FILE, --preset NAME
    enhance.set_defaults(func=_cmd_enhance)
    info = sub.add_parser("info", help="describe a data set")
    info.add_argument("dataset", help="data set name (looked up in $LIB_TF_DATA) or .mat path")
    info.set_defaults(func=_cmd_info)
    from .benchmark import add_benchmark_parser
    from .export import add_export_parser

    add_benchmark_parser(sub)
    add_export_parser(sub)
    add_tune_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"lib-tf {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
