"""Data: LDL files, the binarisation protocol, the toy set, input validation."""
from .artificial import make_artificial
from .binarize import binarize
from .dataset import LDLDataset
from .loaders import DATA_ENV, DATA_URL, EXTRA_DATASETS, PAPER_DATASETS, data_dirs, family, find_ldl, load_ldl, user_data_dir
from .splits import REVEAL_SHARE, split_instances
from .validation import check_distributions, check_features, check_logical_labels, check_same_rows

__all__ = [
    "LDLDataset", "load_ldl", "find_ldl", "data_dirs", "user_data_dir", "binarize", "make_artificial",
    "check_features", "check_distributions", "check_logical_labels", "check_same_rows",
    "DATA_ENV", "DATA_URL", "PAPER_DATASETS", "EXTRA_DATASETS", "family", "REVEAL_SHARE", "split_instances",
]
