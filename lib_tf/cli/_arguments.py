"""Arguments and printing shared by the ``lib-tf`` sub-commands: the data set inputs, the
tuned settings (``--hparams`` / ``--preset``) and the metrics table."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..metrics import METRIC_NAMES


def add_dataset_arguments(parser):
    """Add the "input (one of)" group with ``--dataset`` and ``--mat`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        A sub-command's parser.

    Returns
    -------
    argparse._ArgumentGroup
        The group, so that a sub-command can add sources of its own (``--features``, ``--input``).
    """
    source = parser.add_argument_group("input (one of)")
    source.add_argument("--dataset", help="data set name, looked up in $LIB_TF_DATA (Artificial is built in)")
    source.add_argument("--mat", help="path of a Geng-format .mat file")
    return source


def load_dataset_argument(args):
    """The :class:`~lib_tf.data.LDLDataset` named by exactly one of ``--dataset`` / ``--mat``."""
    from ..data import load_ldl

    if bool(args.dataset) == bool(args.mat):
        raise ValueError("give exactly one of --dataset NAME or --mat PATH")
    return load_ldl(args.dataset or args.mat)


def read_matrix(path: str, name: str) -> np.ndarray:
    """A 2-D array from a .npy or .csv file (comma-separated, no header).

    Parameters
    ----------
    path : str
        The file.
    name : str
        The flag that named it, for error messages (``"--features"``).

    Returns
    -------
    ndarray
        The array as stored (the estimators check its shape and values).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{name}: no file at {file}")
    if file.suffix == ".npy":
        return np.load(file, allow_pickle=False)
    if file.suffix == ".csv":
        return np.loadtxt(file, delimiter=",", ndmin=2)
    raise ValueError(f"{name}: expected a .npy or .csv file, got {file.name}")


def add_settings_arguments(parser, help_suffix: str = "instead of --alpha/--beta/..."):
    """Add ``--hparams FILE`` and ``--preset NAME`` (at most one of) to ``parser``."""
    group = parser.add_argument_group(f"tuned settings (one of, {help_suffix})")
    group.add_argument("--hparams", metavar="FILE",
                       help="JSON object of LabelEnhancer parameters, e.g. best_hparams.json of `lib-tf tune` or "
                            "{\"alpha\": 0.01, \"beta\": 1, \"epochs\": 50} (alpha weights the gap term, beta the "
                            "KL term); a keras_tuner HyperParameters config is accepted too")
    group.add_argument("--preset", help="shipped settings for a data set, e.g. SJAFFE (see lib_tf/presets.json)")
    return group


def tuned_settings(args) -> dict:
    """LabelEnhancer arguments of ``--hparams FILE`` or ``--preset NAME`` ({} without either).

    Raises
    ------
    ValueError
        Both given, or the file / preset is missing or invalid (the message names the flag).
    """
    from ..hparams import PRESETS_FILE, load_hparams, preset_params

    if args.hparams and args.preset:
        raise ValueError("give --hparams or --preset, not both")
    if args.hparams:
        try:
            return load_hparams(args.hparams)
        except (FileNotFoundError, ValueError) as error:
            raise ValueError(f"--hparams: {error}") from None
    if args.preset:
        try:
            return preset_params(args.preset)
        except FileNotFoundError:
            raise ValueError(f"--preset {args.preset}: no presets are shipped yet ({PRESETS_FILE.name} is missing); "
                             "use --hparams FILE") from None
    return {}


def format_table(rows, columns=METRIC_NAMES) -> str:
    """Rows of ``(label, {metric: value})`` as an aligned text table, one column per metric."""
    width = max(len(label) for label, _ in rows) + 2
    cell = max(13, max(len(c) for c in columns) + 1)
    lines = [" " * width + "".join(f"{c:>{cell}}" for c in columns)]
    for label, values in rows:
        lines.append(f"{label:<{width}}" + "".join(f"{values[c]:>{cell}.4f}" for c in columns))
    return "\n".join(lines)
