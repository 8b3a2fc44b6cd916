"""``lib-tf enhance``: recover label distributions and write them to a folder
(:func:`lib_tf.recovery.recover_to_folder`, in memory or streamed/distributed)."""
from __future__ import annotations

from pathlib import Path

from ..data import LDLDataset
from ..distribute import STRATEGIES
from ..hparams import DEFAULT_MODEL, MODELS, with_model_defaults
from ..metrics import METRIC_NAMES, higher_is_better
from ._arguments import add_dataset_arguments, add_settings_arguments, format_table, load_dataset_argument, read_matrix
from ._arguments import tuned_settings

#: The flags that ``--hparams`` / ``--preset`` replace, with their defaults.
SETTING_FLAGS = {"model": DEFAULT_MODEL, "alpha": None, "beta": None, "temperature": None, "epochs": None, "batch_size": 128}


def add_enhance_parser(subparsers):
    """Register ``lib-tf enhance`` on the ``lib-tf`` sub-command parsers."""
    enhance = subparsers.add_parser(
        "enhance", help="recover label distributions with LIB",
        description="Fit LIB on features and logical labels and write the recovered distributions.")
    source = add_dataset_arguments(enhance)
    source.add_argument("--features", help=".npy or .csv features (n x d), with --labels")
    source.add_argument("--input", help="glob of on-disk shards streamed with bounded memory: TFRecord "
                        "(tf.Example float lists 'features', 'logical_labels') or NumPy pairs "
                        "<stem>.features.npy + <stem>.logical_labels.npy, e.g. 'shards/*.tfrecord'")
    enhance.add_argument("--labels", help=".npy or .csv logical labels (n x c, 0/1)")
    enhance.add_argument("--distributions", help="optional .npy or .csv ground truth, for scoring")
    enhance.add_argument("--model", choices=MODELS, default=DEFAULT_MODEL,
                         help=f"label-aware: LIB whose posterior reads the logical labels too, with its shipped "
                              f"settings, which the flags below change; paper: the paper's LIB (default {DEFAULT_MODEL})")
    enhance.add_argument("--alpha", type=float, help="weight of the label-gap term (default: paper 0.001, label-aware 1)")
    enhance.add_argument("--beta", type=float, help="weight of the KL / bottleneck term (default: paper 1, label-aware 10)")
    enhance.add_argument("--temperature", type=float, help="read-out temperature T of the model's logits "
                                                           "(default: paper 1; label-aware chosen without ground truth, "
                                                           "1 with --input/--strategy)")
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
    enhance.add_argument("--strategy", choices=STRATEGIES, default=None,
                         help="tf.distribute strategy: mirrored (local devices) or multi-worker (cluster from TF_CONFIG)")
    enhance.add_argument("--backup-dir", help="BackupAndRestore folder with --input/--strategy (default <out>/backup): "
                         "a killed run started again resumes from its last epoch")
    add_settings_arguments(enhance)
    enhance.set_defaults(func=cmd_enhance)
    return enhance


def enhancer_params(args) -> dict:
    """LabelEnhancer arguments of ``lib-tf enhance``: the flags, or ``--hparams`` / ``--preset``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``lib-tf enhance`` arguments.

    Returns
    -------
    dict
        The flags (``--model label-aware`` starting from its shipped settings), or the file's
        / preset's settings; ``--seed`` in either case.

    Raises
    ------
    ValueError
        A changed ``--model``, ``--alpha``, ``--beta``, ``--temperature``, ``--epochs`` or
        ``--batch-size`` beside ``--hparams`` / ``--preset``.
    """
    tuned = tuned_settings(args)
    if not (args.hparams or args.preset):
        shipped = {"model": args.model}  # the model's own defaults fill in the rest
        flags = {name: getattr(args, name) for name in ("alpha", "beta", "temperature") if getattr(args, name) is not None}
        return {**shipped, **flags, "epochs": args.epochs, "batch_size": args.batch_size, "random_state": args.seed}
    changed = [f"--{name.replace('_', '-')}" for name, default in SETTING_FLAGS.items() if getattr(args, name) != default]
    if changed:
        raise ValueError(f"{', '.join(changed)} cannot be combined with --hparams/--preset; edit the JSON instead")
    return {**tuned, "random_state": args.seed}


def load_input(args):
    """The data of ``lib-tf enhance``: an :class:`~lib_tf.data.LDLDataset` (``--dataset``,
    ``--mat``, ``--features`` with ``--labels``) or the glob pattern of shards (``--input``,
    read once the training's strategy exists); exactly one source."""
    sources = [bool(args.dataset), bool(args.mat), bool(args.features), bool(args.input)]
    if sum(sources) != 1:
        with_input = " or --input GLOB" if args.input else ""
        raise ValueError(f"give exactly one of --dataset NAME, --mat PATH or --features FILE (with --labels FILE)"
                         f"{with_input}")
    if args.input:
        return args.input
    if args.dataset or args.mat:
        return load_dataset_argument(args)
    if not args.labels:
        raise ValueError("--features needs --labels FILE (the logical labels, n x c of 0/1)")
    truth = read_matrix(args.distributions, "--distributions") if args.distributions else None
    return LDLDataset(Path(args.features).stem, read_matrix(args.features, "--features"), truth,
                      read_matrix(args.labels, "--labels"), source=str(args.features))


def cmd_enhance(args) -> int:
    """Run ``lib-tf enhance``: parse, recover, print."""
    from ..recovery import recover_to_folder

    params = enhancer_params(args)
    distributed = bool(args.input or args.strategy)
    data = load_input(args)
    if not args.input:
        print(data)
    result = recover_to_folder(data, args.out, params, reveal=args.reveal, with_labels=args.with_labels,
                               strategy=args.strategy, backup_dir=args.backup_dir, figure=args.figure,
                               overwrite=args.overwrite, source=args.input, verbose=0 if args.quiet else 1)
    if result.settings is None:
        print(f"worker done: trained in {result.seconds:.1f} s (the chief writes the outputs)")
        return 0
    settings, out = result.settings, Path(args.out)
    if args.input:
        print(f"{len(settings['prediction_shards'])} shard(s) matching {args.input}: n={settings['n']}, "
              f"d={settings['d']}, c={settings['c']}")
    if distributed:
        print(f"strategy {settings['strategy']} ({settings['replicas']} replica(s), {settings['workers']} worker(s))")
        if with_model_defaults(params)["readout"] == "truth-free":
            label_term = settings["label_temperature"]
            print(f"read-out: the model's own at T={settings['temperature']:g}"
                  + (f", T_l={label_term:g}" if label_term is not None else ", no label term")
                  + " (the truth-free choice needs the data in memory, without --input/--strategy)")
    if settings["n_revealed"]:
        readout = f"T={settings['temperature']:g}" + (f", label temperature T_l={settings['label_temperature']:g}"
                                                      if settings["label_temperature"] is not None else "")
        print(f"read-out {readout}, picked by KL on a revealed {args.reveal:.0%} ({settings['n_revealed']} instances); "
              f"figures below are on the other {settings['n'] - settings['n_revealed']}")
    choice = settings["readout_choice"]
    if choice:
        label_term = f", T_l={choice['label_temperature']:g}" if choice["label_temperature"] is not None else ""
        print(f"read-out chosen without ground truth: these instances get the binarisation posterior's mean averaged "
              f"with the chosen read-out (expected KL {choice['fitted_expected_kl']:.4f}); new ones "
              f"T={choice['temperature']:g}{label_term} "
              f"(expected KL {choice['expected_kl']:.4f})" + ("" if choice["scale_identified"] else
              "; the labels did not pin how sharp the truth is, so a prior over it decided"))
    if settings["metrics"]:
        rows = list(settings["metrics"].items())
        print(format_table(rows))
        worse = [m for m in METRIC_NAMES if not _at_least_as_good(m, rows[0][1][m], settings["metrics"]["l / sum(l)"][m])]
        if worse:
            print(f"note: {rows[0][0]} is worse than l / sum(l) on {', '.join(worse)}")
    for path in result.files:
        if path.suffix == ".png":
            print(f"wrote {path}")
    if settings["prediction_shards"] is not None:
        print(f"trained in {result.seconds:.1f} s; wrote {len(settings['prediction_shards'])} prediction shard(s) "
              f"to {out / 'predictions'} and settings.json")
    else:
        print(f"trained in {result.seconds:.1f} s; wrote distributions.npy, distributions.csv and settings.json to {out}")
    return 0


def _at_least_as_good(metric: str, value: float, reference: float) -> bool:
    return value >= reference if higher_is_better(metric) else value <= reference
