"""PNG plots for the examples: loss curves from a Trainer's log history, attention maps, bar charts.

matplotlib is imported lazily with the non-interactive Agg backend, so nothing here needs a display.
"""

import os


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install matplotlib") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss_curve(log_history: list[dict], path: str | os.PathLike, title: str = "training loss") -> str:
    """Training loss (and eval loss where logged) against the step, from `trainer.state.log_history`."""
    train = [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry and "step" in entry]
    evaluation = [(entry["step"], entry["eval_loss"]) for entry in log_history if "eval_loss" in entry]
    if not train and not evaluation:
        raise ValueError("the log history has no loss entries; set logging_steps so that the Trainer logs the loss")
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.5))
    if train:
        axis.plot(*zip(*train), label="train loss")
    if evaluation:
        axis.plot(*zip(*evaluation), marker="o", label="eval loss")
    axis.set_xlabel("step")
    axis.set_ylabel("loss")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return str(path)


def plot_attention_maps(
    maps: list, row_labels: list[list[str]], column_labels: list[list[str]], titles: list[str], path
) -> str:
    """One heat map per entry of `maps` (2-D arrays [query, key]), side by side, with token labels."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(maps), figsize=(5 * len(maps), 5), squeeze=False)
    for axis, attention, rows, columns, title in zip(axes[0], maps, row_labels, column_labels, titles):
        image = axis.imshow(attention, cmap="viridis", vmin=0.0)
        axis.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
        axis.set_yticks(range(len(rows)), rows, fontsize=7)
        axis.set_xlabel("key")
        axis.set_ylabel("query")
        axis.set_title(title)
        figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return str(path)


def plot_bars(values: dict[str, float], path, title: str, ylabel: str) -> str:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(max(4, 0.8 * len(values) + 2), 4))
    axis.bar(list(values), list(values.values()))
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return str(path)
