"""The dataset record used across the package."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .validation import check_distributions, check_features, check_logical_labels, check_same_rows


@dataclass(frozen=True)
class LDLDataset:
    """One LE problem: ``features`` (n, d), ground-truth ``distributions`` (n, c) or None,
    ``logical_labels`` (n, c) in {0, 1}. Validated on construction."""

    name: str
    features: np.ndarray
    distributions: Optional[np.ndarray]
    logical_labels: np.ndarray
    source: Optional[str] = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "features", check_features(self.features, "features"))
        object.__setattr__(self, "logical_labels", check_logical_labels(self.logical_labels, "logical_labels"))
        if self.distributions is not None:
            object.__setattr__(self, "distributions", check_distributions(self.distributions, "distributions"))
        check_same_rows(features=self.features, distributions=self.distributions, logical_labels=self.logical_labels)
        if self.distributions is not None and self.distributions.shape[1] != self.logical_labels.shape[1]:
            raise ValueError(
                f"distributions has {self.distributions.shape[1]} labels but logical_labels has "
                f"{self.logical_labels.shape[1]}"
            )

    @property
    def n_instances(self) -> int:
        return self.features.shape[0]

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    @property
    def n_labels(self) -> int:
        return self.logical_labels.shape[1]

    def __repr__(self) -> str:
        truth = "with" if self.distributions is not None else "without"
        return (
            f"LDLDataset({self.name!r}: n={self.n_instances}, d={self.n_features}, "
            f"c={self.n_labels}, {truth} ground truth)"
        )
