"""Configuration of hf_nlpnotes' ResNet / SE-ResNet; field names as transformers' `ResNetConfig` where the concept is
the same, new fields for what it lacks (shortcut type, squeeze-and-excitation, CIFAR stem, zero-initialised last BN).
"""

from transformers import PreTrainedConfig
from transformers.backbone_utils import BackboneConfigMixin

from .configuration_notes_utils import check_activation, check_choice, check_positive_float, check_positive_int

LAYER_TYPES = ("basic", "bottleneck")
SHORTCUT_TYPES = ("A", "B", "C")
STEM_TYPES = ("imagenet", "cifar")
BOOLEAN_FIELDS = (
    "downsample_in_first_stage",
    "downsample_in_bottleneck",
    "use_squeeze_excitation",
    "zero_init_last_batch_norm",
    "use_channels_last",
)


def _fail(config, field: str, value, expected: str):
    raise ValueError(f"{type(config).__name__}.{field} must be {expected}, got {value!r}")


class NotesResNetConfig(BackboneConfigMixin, PreTrainedConfig):
    r"""ResNet (He et al., 2016) and SE-ResNet (Hu et al., 2018). The defaults give ResNet-50 ("v1.5": stride on the
    3×3 of the bottleneck, projection shortcuts where dimensions change); named networks are presets:
    `hf_nlpnotes.load_preset("resnet-18")`, `"se-resnet-50"`, `"resnet-56"` (CIFAR), ...

    Args:
        num_channels: channels of the input images.
        embedding_size: output channels of the stem.
        hidden_sizes: output channels of each stage (for bottleneck blocks: after the expanding 1×1).
        depths: number of blocks in each stage.
        layer_type: "basic" (two 3×3 convolutions) or "bottleneck" (1×1, 3×3, 1×1).
        hidden_act: activation after each BN and after the residual sum (a `transformers` ACT2FN name).
        downsample_in_first_stage: whether the first stage subsamples with stride 2 (the later stages always do).
        downsample_in_bottleneck: stride in the first 1×1 of a bottleneck (the paper) instead of its 3×3 ("v1.5").
        bottleneck_reduction: width of a bottleneck's inner 3×3 = its output channels / this (4 in the paper).
        shortcut_type: "A" identity, zero-padding the new channels (after stride-2 subsampling) when dimensions change,
            no parameters; "B" a 1×1 projection + BN only where dimensions change; "C" a projection on every block.
        stem_type: "imagenet" (7×7 stride-2 convolution + 3×3 stride-2 max-pool) or "cifar" (one 3×3 convolution).
        use_squeeze_excitation: channel attention (SE) on the residual branch of every block, before the sum.
        se_reduction: reduction ratio r of the SE bottleneck (C → C/r → C).
        zero_init_last_batch_norm: initialise the last BN scale of every residual branch to 0, so that every block
            starts as the identity (Goyal et al., 2017).
        batch_norm_eps: epsilon of every BatchNorm (1e-5, as torchvision and transformers' ResNet).
        use_channels_last: run the network in NHWC (channels_last) memory format whatever the layout of the input:
            the input is converted once before the stem (a no-op for NHWC input) and every later op keeps NHWC. The
            oneDNN (CPU) and cuDNN convolution kernels are faster in NHWC; the values are the same either way.
        out_features / out_indices: stages returned by the backbone (`AutoBackbone`); names "stem", "stage1", ...
    """

    model_type = "notes_resnet"

    num_channels: int = 3
    embedding_size: int = 64
    hidden_sizes: list[int] | None = None
    depths: list[int] | None = None
    layer_type: str = "bottleneck"
    hidden_act: str = "relu"
    downsample_in_first_stage: bool = False
    downsample_in_bottleneck: bool = False
    bottleneck_reduction: int = 4
    shortcut_type: str = "B"
    stem_type: str = "imagenet"
    use_squeeze_excitation: bool = False
    se_reduction: int = 16
    zero_init_last_batch_norm: bool = False
    batch_norm_eps: float = 1e-5
    use_channels_last: bool = True

    def __post_init__(self, **kwargs):
        for field, default in (("hidden_sizes", [256, 512, 1024, 2048]), ("depths", [3, 4, 6, 3])):
            value = getattr(self, field)
            if value is not None and not isinstance(value, (list, tuple)):
                _fail(self, field, value, "a non-empty list of positive integers")
            setattr(self, field, list(value) if value is not None else default)
        self.stage_names = ["stem"] + [f"stage{index}" for index in range(1, len(self.depths) + 1)]
        self.set_output_features_output_indices(
            out_indices=kwargs.pop("out_indices", None), out_features=kwargs.pop("out_features", None)
        )
        super().__post_init__(**kwargs)
        self.validate_fields()

    def validate_fields(self):
        check_positive_int(self, "num_channels", "embedding_size", "bottleneck_reduction", "se_reduction")
        for field in ("hidden_sizes", "depths"):
            values = getattr(self, field)
            if not values or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in values):
                _fail(self, field, values, "a non-empty list of positive integers")
        if len(self.hidden_sizes) != len(self.depths):
            raise ValueError(
                f"{type(self).__name__}.hidden_sizes ({self.hidden_sizes}) and depths ({self.depths}) must have one "
                "entry per stage (same length)"
            )
        check_choice(self, "layer_type", LAYER_TYPES)
        check_choice(self, "shortcut_type", SHORTCUT_TYPES)
        check_choice(self, "stem_type", STEM_TYPES)
        check_activation(self, "hidden_act")
        if self.layer_type == "bottleneck":
            for width in self.hidden_sizes:
                if width % self.bottleneck_reduction != 0:
                    raise ValueError(
                        f"{type(self).__name__}.hidden_sizes entry {width} is not divisible by "
                        f"bottleneck_reduction ({self.bottleneck_reduction})"
                    )
        if self.shortcut_type == "A":
            # a zero-padding shortcut can add channels but has nothing to drop them with
            widths = [self.embedding_size] + self.hidden_sizes
            for stage, (before, after) in enumerate(zip(widths, widths[1:]), start=1):
                if after < before:
                    raise ValueError(
                        f"{type(self).__name__}.shortcut_type 'A' (zero-padding identity) cannot shrink channels, but "
                        f"stage{stage} goes from {before} to {after} channels; use shortcut_type 'B' or 'C'"
                    )
        check_positive_float(self, "batch_norm_eps")
        for field in BOOLEAN_FIELDS:
            if not isinstance(getattr(self, field), bool):
                _fail(self, field, getattr(self, field), "True or False")

    @property
    def total_stride(self) -> int:
        """Subsampling factor from the input to the last stage (32 for ImageNet ResNets, 4 for CIFAR ones)."""
        stride = 4 if self.stem_type == "imagenet" else 1
        stride *= 2 ** (len(self.depths) - 1)
        return stride * (2 if self.downsample_in_first_stage else 1)


__all__ = ["NotesResNetConfig"]
