"""Pictures (matplotlib, PNG).

Figures are built with the object API (``matplotlib.figure.Figure``), never through pyplot,
so drawing them neither switches the session's backend nor shows up in a notebook's
``plt.show()``."""
from __future__ import annotations

import numpy as np


def _figure(**kwargs):
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _save(fig, path):
    import io

    from ._files import write_atomic

    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, dpi=110, format="png")
    return write_atomic(path, image.getvalue())  # a kill mid-draw leaves the old picture whole


def plot_toy_recovery(features, panels, path, title="Artificial toy set"):
    """The paper's Fig. 3: toy points at (x1, x2) coloured by their 3-label distribution as RGB.

    features (n, >=2); panels: {label: distributions (n, 3)}, e.g. ground truth and recoveries.
    """
    features = np.asarray(features)
    columns = min(len(panels), 4)
    rows = -(-len(panels) // columns)
    fig = _figure(figsize=(3.2 * columns, 3.4 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for axis in axes.flat[len(panels):]:
        axis.axis("off")
    # squares about as wide as a grid cell of the panel (3 inches = 216 points), so a toy grid
    # of any size is drawn without white gaps between its points
    marker_area = (216.0 / np.sqrt(len(features))) ** 2
    for axis, (label, distributions) in zip(axes.flat, panels.items()):
        distributions = np.asarray(distributions, dtype=float)
        if distributions.shape[1] != 3:
            raise ValueError(f"panel {label!r} has {distributions.shape[1]} labels; RGB needs 3")
        axis.scatter(features[:, 0], features[:, 1], c=np.clip(distributions, 0, 1), s=marker_area, marker="s",
                     linewidths=0)
        axis.set_title(label, fontsize=10)
        axis.set_xticks([]), axis.set_yticks([])
        axis.set_aspect("equal")
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_sensitivity(grid_values, alphas, betas, path, title):
    """The paper's Fig. 4: heat maps of a metric over alpha (rows) x beta (columns).

    grid_values: {metric: array (len(alphas), len(betas))}.
    """
    fig = _figure(figsize=(3.6 * len(grid_values), 3.3))
    axes = fig.subplots(1, len(grid_values), squeeze=False)
    for axis, (metric, values) in zip(axes[0], grid_values.items()):
        image = axis.imshow(np.asarray(values), cmap="viridis", origin="lower")
        axis.set_xticks(range(len(betas)), [f"{b:g}" for b in betas])
        axis.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
        axis.set_xlabel("beta (KL)"), axis.set_ylabel("alpha (gap)")
        axis.set_title(metric, fontsize=10)
        fig.colorbar(image, ax=axis, shrink=0.8)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_ranks(ranks_by_metric, path, title):
    """Per-metric average ranks of every method as grouped bars; {metric: {method: rank}}."""
    metrics = list(ranks_by_metric)
    methods = list(next(iter(ranks_by_metric.values())))
    width = 0.8 / len(methods)
    fig = _figure(figsize=(max(6, 1.4 * len(metrics) + 2), 3.8))
    axis = fig.subplots()
    for index, method in enumerate(methods):
        axis.bar(np.arange(len(metrics)) + index * width, [ranks_by_metric[m][method] for m in metrics], width, label=method)
    axis.set_xticks(np.arange(len(metrics)) + 0.4 - width / 2, metrics)
    axis.set_ylabel("average rank (lower is better)")
    axis.legend(fontsize=7, ncol=4)
    axis.set_title(title, fontsize=11)
    return _save(fig, path)
