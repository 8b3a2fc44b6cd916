"""Pictures (matplotlib, PNG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_toy_recovery(features, panels, path, title="Artificial toy set"):
    """The paper's Fig. 3: toy points at (x1, x2) coloured by their 3-label distribution as RGB.

    features (n, >=2); panels: {label: distributions (n, 3)}, e.g. ground truth and recoveries.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    features = np.asarray(features)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for axis, (label, distributions) in zip(axes[0], panels.items()):
        distributions = np.asarray(distributions, dtype=float)
        if distributions.shape[1] != 3:
            raise ValueError(f"panel {label!r} has {distributions.shape[1]} labels; RGB needs 3")
        axis.scatter(features[:, 0], features[:, 1], c=np.clip(distributions, 0, 1), s=9, marker="s", linewidths=0)
        axis.set_title(label, fontsize=10)
        axis.set_xticks([]), axis.set_yticks([])
        axis.set_aspect("equal")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
