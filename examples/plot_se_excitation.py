"""Plot the squeeze-and-excitation weights of an SE-ResNet for one image: one heat-map row per block, grouped by
stage, with the channel weights σ(W2 δ(W1 z)) in [0, 1] (Hu et al., 2018, Fig. 6 shows the same per stage).

    python examples/plot_se_excitation.py MODEL_DIR IMAGE [--output se_excitation.png]

MODEL_DIR: a saved NotesResNetForImageClassification with use_squeeze_excitation=True and its image processor
(e.g. from `run_image_classification.py --use_se`). Without IMAGE, the first Fashion-MNIST test image is used.
"""

import argparse

import torch
from transformers import AutoImageProcessor, AutoModelForImageClassification

import hf_nlpnotes  # noqa: F401  (registers the notes_resnet model type)
from hf_nlpnotes.plotting import _pyplot


@torch.no_grad()
def excitation_weights(model, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
    """{"stage1.block0": weights [channels], ...} for the first image of `pixel_values`."""
    layers = model.squeeze_excitation_layers()
    if not layers:
        raise ValueError("the model has no squeeze-and-excitation layers (config.use_squeeze_excitation is False)")
    for layer in layers.values():
        layer.keep_excitation = True
    try:
        model.eval()(pixel_values)
        return {name: layer.last_excitation[0].cpu() for name, layer in layers.items()}
    finally:
        for layer in layers.values():
            layer.keep_excitation = False
            layer.last_excitation = None


def plot_excitation(model, processor, image, path, title: str = "SE excitation") -> str:
    weights = excitation_weights(model, processor(image, return_tensors="pt").pixel_values)
    stages = sorted({name.split(".")[0] for name in weights})
    plt = _pyplot()
    blocks_per_stage = [sum(name.startswith(stage + ".") for name in weights) for stage in stages]
    height = sum(0.9 + 0.25 * blocks for blocks in blocks_per_stage) + 0.5
    figure, axes = plt.subplots(len(stages), 1, figsize=(9, height), squeeze=False)
    for axis, stage in zip(axes[:, 0], stages):
        names = [name for name in weights if name.startswith(stage + ".")]
        rows = torch.stack([weights[name] for name in names]).numpy()
        image_handle = axis.imshow(rows, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        axis.set_yticks(range(len(names)), [name.split(".")[1] for name in names], fontsize=7)
        axis.set_ylabel(stage)
        axis.set_xlabel("channel", fontsize=8)
        figure.colorbar(image_handle, ax=axis, fraction=0.03)
    axes[0, 0].set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return str(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("image", nargs="?", default=None, help="an image file (default: a Fashion-MNIST test image)")
    parser.add_argument("--output", default="se_excitation.png")
    args = parser.parse_args(argv)
    model = AutoModelForImageClassification.from_pretrained(args.model_dir)
    processor = AutoImageProcessor.from_pretrained(args.model_dir)
    if args.image is None:
        from PIL import Image

        from hf_nlpnotes.data.fashion_mnist import fashion_mnist_arrays

        image = Image.fromarray(fashion_mnist_arrays("test")[0][0])
    else:
        from PIL import Image

        image = Image.open(args.image)
    print(plot_excitation(model, processor, image, args.output))


if __name__ == "__main__":
    main()
