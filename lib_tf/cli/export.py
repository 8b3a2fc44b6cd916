"""``lib-tf export``: train LIB and export it for TensorFlow Serving
(:func:`lib_tf.publish.train_and_export`)."""
from __future__ import annotations

from pathlib import Path

from ..contract import DEFAULT_FEATURE_KEY
from ..hparams import MODELS
from ._arguments import add_dataset_arguments, add_settings_arguments, load_dataset_argument, tuned_settings


def add_export_parser(subparsers):
    """Register ``lib-tf export`` on the ``lib-tf`` sub-command parsers."""
    parser = subparsers.add_parser(
        "export", help="train LIB and export it for TensorFlow Serving",
        description="Fit LIB on a data set and write a versioned SavedModel (TF Serving layout "
                    "OUT/<version>/saved_model.pb) with the signatures serving_default (raw features) and "
                    "serving_examples (serialized tf.Example), warm-up requests and a model card.")
    add_dataset_arguments(parser)
    add_settings_arguments(parser, "each changes single settings of --model")
    parser.add_argument("--model", choices=MODELS, default="paper",
                        help="paper: the paper's LIB (signatures take features); label-aware: LIB whose posterior "
                             "reads the logical labels, with its shipped settings (signatures take features and "
                             "logical_labels); --hparams/--preset change single settings")
    parser.add_argument("--out", help="model base folder (default saved_models/<data set name>)")
    parser.add_argument("--version", type=int, help="version number (default: the next free one; "
                                                     "an existing version is never overwritten)")
    parser.add_argument("--feature-key", default=DEFAULT_FEATURE_KEY,
                        help="tf.Example key of the features for serving_examples (default 'features'); "
                             "a comma-separated list of d names reads one scalar feature per column")
    parser.add_argument("--label-names", help="comma-separated label names for the model card")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=cmd_export)
    return parser


def cmd_export(args) -> int:
    """Run ``lib-tf export``: parse, train and export, print."""
    from ..publish import train_and_export

    params = tuned_settings(args)
    if args.version is not None and args.version < 1:
        raise ValueError(f"--version must be a positive integer, got {args.version}")
    dataset = load_dataset_argument(args)
    out = Path(args.out or Path("saved_models") / dataset.name.lower())
    if not args.quiet:
        print(dataset)
    published = train_and_export(
        dataset, out, params, model=args.model, version=args.version,
        feature_key=args.feature_key.split(",") if "," in args.feature_key else args.feature_key,
        label_names=args.label_names.split(",") if args.label_names else None, verbose=0 if args.quiet else 1)
    if published.metrics and not args.quiet:
        print("training-set recovery: " + ", ".join(f"{k} {v:.4f}" for k, v in published.metrics.items()))
    print(f"trained in {published.train_seconds:.1f} s; exported version {published.path.name} to {published.path} "
          f"in {published.export_seconds:.1f} s ({published.size_bytes / 1e6:.2f} MB); serve with: "
          f"tensorflow_model_server --model_name={out.name} --model_base_path={out.resolve()}")
    return 0
