"""Convert ResNet checkpoints into hf_nlpnotes' `NotesResNetForImageClassification` / `NotesResNetModel` folders.

Two sources:
- a folder saved by transformers' `ResNetForImageClassification` or `ResNetModel` (the `microsoft/resnet-*`
  layout: config.json with model_type "resnet" and safetensors or .bin weights). Module names are the same on both
  sides, so the weights load key for key.
- a torchvision-style state-dict file (`.pth`/`.pt`/`.bin` read with `torch.load(weights_only=True)`, or
  `.safetensors`) with the keys `conv1`, `bn1`, `layer1..4.<block>.{conv,bn}<k>`, `layer*.<block>.downsample.{0,1}`
  and `fc`; timm's SE-ResNets add `layer*.<block>.se.fc{1,2}`, which map onto the shared SqueezeExcitation. The
  architecture (block type, depths, widths, stem, shortcut option, SE) is read off the tensor shapes. torchvision
  puts the stride on the 3×3 ("v1.5"); pass `downsample_in_bottleneck=True` for checkpoints of the paper's variant.
  A checkpoint without any `downsample` weights is read as shortcut option A with hf_nlpnotes' convention (the input
  fills the first channels, the new ones are zeros); nets that pad on both sides of the channels differ from it.

    python -m hf_nlpnotes.converters.resnet SRC OUTPUT_DIR [--depth 50] [--overwrite]
"""

import argparse
import os
import re
from pathlib import Path

import torch

from ..models.configuration_notes_resnet import NotesResNetConfig
from .common import check_and_load, load_weight_file, prepare_output_dir, read_json
from ..models.image_processing_notes_resnet import NotesResNetImageProcessor
from ..models.modeling_notes_resnet import NotesResNetForImageClassification, NotesResNetModel

_TRANSFORMERS_ARCHITECTURES = ("ResNetForImageClassification", "ResNetModel")


def network_depth(config: NotesResNetConfig) -> int:
    """The depth in the paper's naming: weighted layers on the main path (convolutions + the classifier)."""
    per_block = 2 if config.layer_type == "basic" else 3
    return per_block * sum(config.depths) + 2


def _check_depth(config: NotesResNetConfig, depth: int | None, source):
    if depth is not None and network_depth(config) != depth:
        raise ValueError(
            f"{source} holds a ResNet-{network_depth(config)} ({config.layer_type} blocks, depths {config.depths}), "
            f"not the ResNet-{depth} that was asked for"
        )


# ----------------------------------------------------------------------------------------------------------------
# transformers' ResNet folders


def _from_transformers_folder(folder: Path, config_overrides: dict):
    from transformers import ResNetConfig, ResNetForImageClassification, ResNetModel

    raw = read_json(folder / "config.json")
    if raw.get("model_type") != "resnet":
        raise ValueError(f"{folder}/config.json has model_type {raw.get('model_type')!r}, expected 'resnet'")
    source_config = ResNetConfig.from_pretrained(folder)
    architecture = (source_config.architectures or ["ResNetForImageClassification"])[0]
    if architecture not in _TRANSFORMERS_ARCHITECTURES:
        raise ValueError(f"cannot convert a {architecture}; supported: {', '.join(_TRANSFORMERS_ARCHITECTURES)}")
    source_class = ResNetModel if architecture == "ResNetModel" else ResNetForImageClassification
    state_dict = source_class.from_pretrained(folder).state_dict()

    fields = dict(
        num_channels=source_config.num_channels,
        embedding_size=source_config.embedding_size,
        hidden_sizes=list(source_config.hidden_sizes),
        depths=list(source_config.depths),
        layer_type=source_config.layer_type,
        hidden_act=source_config.hidden_act,
        downsample_in_first_stage=source_config.downsample_in_first_stage,
        downsample_in_bottleneck=source_config.downsample_in_bottleneck,
        shortcut_type="B",  # transformers projects exactly where the shape changes
        stem_type="imagenet",
        id2label=source_config.id2label,
        label2id=source_config.label2id,
    )
    fields.update(config_overrides)
    target_class = NotesResNetModel if architecture == "ResNetModel" else NotesResNetForImageClassification
    return NotesResNetConfig(**fields), target_class, state_dict


# ----------------------------------------------------------------------------------------------------------------
# torchvision-style state dicts


def _load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    state_dict = load_weight_file(path)  # safetensors, or torch.load(weights_only=True); unwraps "state_dict"
    state_dict = {key.removeprefix("module."): value for key, value in state_dict.items()}  # DataParallel
    if "conv1.weight" not in state_dict:
        raise ValueError(f"{path} is not a torchvision-style ResNet state dict (no 'conv1.weight' key)")
    return state_dict


_BLOCK_KEY = re.compile(r"layer(\d+)\.(\d+)\.")


def _torchvision_config(state_dict: dict[str, torch.Tensor], config_overrides: dict) -> NotesResNetConfig:
    """Reads the architecture off the key names and tensor shapes."""
    blocks: dict[int, set[int]] = {}
    for key in state_dict:
        match = _BLOCK_KEY.match(key)
        if match:
            blocks.setdefault(int(match[1]), set()).add(int(match[2]))
    stages = sorted(blocks)
    if not stages or stages != list(range(1, len(stages) + 1)):
        raise ValueError(f"expected stages layer1..layerN in the state dict, found {['layer%d' % s for s in stages]}")
    depths = [len(blocks[stage]) for stage in stages]
    bottleneck = "layer1.0.conv3.weight" in state_dict
    last_bn = "bn3" if bottleneck else "bn2"
    hidden_sizes = [state_dict[f"layer{stage}.0.{last_bn}.weight"].shape[0] for stage in stages]
    stem_kernel = state_dict["conv1.weight"].shape[-1]
    embedding_size, num_channels = state_dict["conv1.weight"].shape[:2]

    with_projection = [
        (stage, block)
        for stage in stages
        for block in blocks[stage]
        if f"layer{stage}.{block}.downsample.0.weight" in state_dict
    ]
    if len(with_projection) == sum(depths):
        shortcut_type = "C"
    elif with_projection:
        shortcut_type = "B"
    else:
        shortcut_type = "A"
    use_se = "layer1.0.se.fc1.weight" in state_dict
    fields = dict(
        num_channels=num_channels,
        embedding_size=embedding_size,
        hidden_sizes=hidden_sizes,
        depths=depths,
        layer_type="bottleneck" if bottleneck else "basic",
        shortcut_type=shortcut_type,
        stem_type="imagenet" if stem_kernel == 7 else "cifar",
        use_squeeze_excitation=use_se,
        num_labels=state_dict["fc.weight"].shape[0] if "fc.weight" in state_dict else 0,
    )
    if bottleneck:
        fields["bottleneck_reduction"] = hidden_sizes[0] // state_dict["layer1.0.bn1.weight"].shape[0]
    if use_se:
        fields["se_reduction"] = hidden_sizes[0] // state_dict["layer1.0.se.fc1.weight"].shape[0]
    fields.update(config_overrides)
    return NotesResNetConfig(**fields)


def _torchvision_key(key: str) -> str:
    """torchvision name → hf_nlpnotes name (of NotesResNetForImageClassification)."""
    if key.startswith("fc."):
        return "classifier.1." + key[len("fc.") :]
    if key.startswith("conv1."):
        return "resnet.embedder.embedder.convolution." + key[len("conv1.") :]
    if key.startswith("bn1."):
        return "resnet.embedder.embedder.normalization." + key[len("bn1.") :]
    match = _BLOCK_KEY.match(key)
    if match is None:
        raise ValueError(f"unexpected key {key!r} in a torchvision-style ResNet state dict")
    prefix = f"resnet.encoder.stages.{int(match[1]) - 1}.layers.{match[2]}."
    rest = key[match.end() :]
    rest = re.sub(r"^conv(\d)\.", lambda m: f"layer.{int(m[1]) - 1}.convolution.", rest)
    rest = re.sub(r"^bn(\d)\.", lambda m: f"layer.{int(m[1]) - 1}.normalization.", rest)
    rest = rest.replace("downsample.0.", "shortcut.convolution.").replace("downsample.1.", "shortcut.normalization.")
    return prefix + rest


def _from_torchvision_file(path: Path, config_overrides: dict):
    source = _load_state_dict_file(path)
    config = _torchvision_config(source, config_overrides)
    state_dict = {_torchvision_key(key): value for key, value in source.items()}
    return config, NotesResNetForImageClassification, state_dict


# ----------------------------------------------------------------------------------------------------------------


def load_converted(src, depth: int | None = None, **config_overrides):
    """The converted model (eval mode) without saving it: a NotesResNetForImageClassification, or a NotesResNetModel
    for a transformers `ResNetModel` folder. `depth` (e.g. 50) makes a checkpoint of another depth an error."""
    src = Path(src)
    if src.is_dir():
        if not (src / "config.json").is_file():
            raise ValueError(f"{src} is a folder without config.json; expected a transformers ResNet folder")
        config, model_class, state_dict = _from_transformers_folder(src, config_overrides)
    elif src.is_file():
        config, model_class, state_dict = _from_torchvision_file(src, config_overrides)
    else:
        raise FileNotFoundError(f"no checkpoint at {src}")
    _check_depth(config, depth, src)
    model = model_class(config)
    if model_class is NotesResNetModel:
        state_dict = {key.removeprefix("resnet."): value for key, value in state_dict.items()}
    # old checkpoints may lack the BN batch counters
    counters = [key for key in model.state_dict() if key.endswith("num_batches_tracked")]
    check_and_load(model, state_dict, f"{src} (read as {config.layer_type} blocks, depths {config.depths})", counters)
    return model.eval()


def convert_resnet(src, output_dir, depth: int | None = None, overwrite: bool = False, **config_overrides):
    """Converts `src` (a transformers ResNet folder or a torchvision-style state-dict file) and saves the
    hf_nlpnotes model and a `NotesResNetImageProcessor` in `output_dir` (safetensors). Returns the model.

    `config_overrides` set NotesResNetConfig fields the weights cannot tell (e.g. `downsample_in_bottleneck=True`,
    `id2label=...`).
    """
    model = load_converted(src, depth=depth, **config_overrides)
    output_dir = prepare_output_dir(output_dir, overwrite)
    model.save_pretrained(output_dir)
    if model.config.stem_type == "cifar":
        processor = NotesResNetImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    else:
        processor = NotesResNetImageProcessor()
    processor.save_pretrained(output_dir)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Convert a transformers ResNet folder or a torchvision-style ResNet state dict to hf_nlpnotes."
    )
    parser.add_argument("src", help="folder saved by transformers' ResNet*, or a .pth/.bin/.safetensors state dict")
    parser.add_argument("output_dir")
    parser.add_argument("--depth", type=int, default=None, help="expected depth (18, 34, 50, ...); others fail")
    parser.add_argument(
        "--downsample_in_bottleneck",
        action="store_true",
        help="the checkpoint strides in the bottleneck's first 1x1 (the paper), not its 3x3 (torchvision)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output_dir")
    args = parser.parse_args(argv)
    overrides = {"downsample_in_bottleneck": True} if args.downsample_in_bottleneck else {}
    model = convert_resnet(args.src, args.output_dir, depth=args.depth, overwrite=args.overwrite, **overrides)
    print(
        f"saved {type(model).__name__} (ResNet-{network_depth(model.config)}, {model.num_parameters():,} parameters) "
        f"to {os.path.abspath(args.output_dir)}"
    )


if __name__ == "__main__":
    main()
