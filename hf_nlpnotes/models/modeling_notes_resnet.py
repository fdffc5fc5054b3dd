"""ResNet (He et al., 2016) and SE-ResNet (Hu et al., 2018): one network, its variants chosen by the configuration.

Basic and bottleneck blocks, ImageNet and CIFAR stems, the paper's three shortcut options (A: parameter-free identity
with zero-padded new channels; B: 1×1 projections where dimensions change; C: projections everywhere), stride in
the bottleneck's 1×1 (paper) or 3×3 ("v1.5"), squeeze-and-excitation (the shared `SqueezeExcitation`) and a
zero-initialised last BN per block.

Module names mirror transformers' ResNet, so a `ResNetForImageClassification` checkpoint loads into the matching
`NotesResNetForImageClassification` key for key (shortcut B, no SE); see `hf_nlpnotes.converters.resnet`.

Speed without doing less work (benchmarks/bench_resnet.py):
- NHWC: with `config.use_channels_last` (the default) the network runs in channels_last memory format whatever the
  input layout (one copy of the input; the weights are kept NHWC too), where the oneDNN / cuDNN kernels are faster.
  Every op keeps the memory format of its input, so NCHW runs (use_channels_last=False) work the same way.
- ReLUs and residual sums run in place where autograd does not need the overwritten tensor (BatchNorm's backward
  needs its input, not its output), and the zero-padding shortcut adds the subsampled input into the first
  channels of the branch output instead of building a padded copy.
- At inference (BN using its running statistics), BN is folded into the preceding convolution.
"""

import math

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.backbone_utils import BackboneMixin, filter_output_hidden_states
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import (
    BackboneOutput,
    BaseModelOutputWithPoolingAndNoAttention,
    ImageClassifierOutputWithNoAttention,
)
from transformers.utils import logging
from transformers.utils.generic import can_return_tuple

from .configuration_notes_resnet import NotesResNetConfig
from .modeling_notes_utils import (
    NotesSaveWithCodeMixin,
    check_rank,
    register_auto_classes,
    sequence_classification_loss,
)
from .notes_layers import SqueezeExcitation

logger = logging.get_logger(__name__)


def _activation(name: str) -> nn.Module:
    # in place: every ReLU here follows a BatchNorm or a residual sum, whose backward does not read that tensor
    return nn.ReLU(inplace=True) if name == "relu" else ACT2FN[name]


class NotesResNetConvLayer(nn.Module):
    """convolution (no bias) → BatchNorm → activation (none for the last layer of a residual branch)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, activation="relu", eps=1e-5):
        super().__init__()
        self.convolution = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
        )
        self.normalization = nn.BatchNorm2d(out_channels, eps=eps)
        self.activation = _activation(activation) if activation is not None else nn.Identity()

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        if self._fold_batch_norm(hidden_state):
            return self.activation(self._conv_with_folded_batch_norm(hidden_state))
        return self.activation(self.normalization(self.convolution(hidden_state)))

    def _fold_batch_norm(self, hidden_state: torch.Tensor) -> bool:
        """At inference BN (running statistics) is an affine map per channel and can be folded into the convolution:
        W' = W·γ/σ, b' = β − μ·γ/σ. The same math, still differentiable (frozen-BN fine-tuning works). Folding costs
        a pass over the weights and saves one over the outputs, so it is done where the outputs are the larger."""
        if self.normalization.training or not self.normalization.track_running_stats:
            return False
        batch, _, height, width = hidden_state.shape
        stride_h, stride_w = self.convolution.stride
        output_positions = batch * (height // stride_h) * (width // stride_w)
        return output_positions > self.convolution.weight[0].numel()

    def _conv_with_folded_batch_norm(self, hidden_state: torch.Tensor) -> torch.Tensor:
        conv, norm = self.convolution, self.normalization
        scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
        weight = conv.weight * scale.view(-1, 1, 1, 1).to(conv.weight.dtype)
        bias = (norm.bias - norm.running_mean * scale).to(conv.weight.dtype)
        return nn.functional.conv2d(hidden_state, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)


class NotesResNetEmbeddings(nn.Module):
    """The stem: 7×7/2 convolution + 3×3/2 max-pool (ImageNet), or a single 3×3/1 convolution (CIFAR)."""

    def __init__(self, config: NotesResNetConfig):
        super().__init__()
        imagenet = config.stem_type == "imagenet"
        self.embedder = NotesResNetConvLayer(
            config.num_channels,
            config.embedding_size,
            kernel_size=7 if imagenet else 3,
            stride=2 if imagenet else 1,
            activation=config.hidden_act,
            eps=config.batch_norm_eps,
        )
        self.pooler = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if imagenet else nn.Identity()

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.pooler(self.embedder(pixel_values))


class NotesResNetShortCut(nn.Module):
    """Projection shortcut (options B and C): 1×1 convolution with the block's stride, then BN."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, eps: float):
        super().__init__()
        self.convolution = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)
        self.normalization = nn.BatchNorm2d(out_channels, eps=eps)

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        return self.normalization(self.convolution(hidden_state))


class NotesResNetZeroPadShortCut(nn.Module):
    """Option A: identity with stride-`stride` subsampling; the channels the branch adds get zeros. No parameters.

    `add_to(branch, residual)` is the fused form the blocks use: it adds the subsampled input into the first
    channels of the branch output in place, which equals adding the zero-padded input but never materialises the
    padded tensor. `forward` returns the padded tensor itself (for inspection and tests).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def _subsample(self, residual: torch.Tensor) -> torch.Tensor:
        return residual[:, :, :: self.stride, :: self.stride] if self.stride > 1 else residual

    def forward(self, residual: torch.Tensor) -> torch.Tensor:
        subsampled = self._subsample(residual)
        return nn.functional.pad(subsampled, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))

    def add_to(self, branch: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        branch[:, : self.in_channels] += self._subsample(residual)
        return branch

    def extra_repr(self) -> str:
        return f"{self.in_channels} -> {self.out_channels} (zero padding), stride={self.stride}"


def _make_shortcut(config: NotesResNetConfig, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    changes_shape = in_channels != out_channels or stride != 1
    if config.shortcut_type == "C" or (config.shortcut_type == "B" and changes_shape):
        return NotesResNetShortCut(in_channels, out_channels, stride, config.batch_norm_eps)
    if config.shortcut_type == "A" and changes_shape:
        return NotesResNetZeroPadShortCut(in_channels, out_channels, stride)
    return nn.Identity()


class NotesResNetBlock(GradientCheckpointingLayer):
    """One residual unit: y = act(F(x) + shortcut(x)), F = the `layer` branch (then SE, when configured).

    basic: 3×3 → 3×3. bottleneck: 1×1 (reduce) → 3×3 → 1×1 (expand), the stride on the first 1×1
    (`downsample_in_bottleneck`, the paper) or on the 3×3 (v1.5, torchvision and transformers).
    """

    def __init__(self, config: NotesResNetConfig, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        act, eps = config.hidden_act, config.batch_norm_eps
        if config.layer_type == "basic":
            layers = [
                NotesResNetConvLayer(in_channels, out_channels, 3, stride, act, eps),
                NotesResNetConvLayer(out_channels, out_channels, 3, 1, None, eps),
            ]
        else:
            inner = out_channels // config.bottleneck_reduction
            stride_1x1 = stride if config.downsample_in_bottleneck else 1
            layers = [
                NotesResNetConvLayer(in_channels, inner, 1, stride_1x1, act, eps),
                NotesResNetConvLayer(inner, inner, 3, stride // stride_1x1, act, eps),
                NotesResNetConvLayer(inner, out_channels, 1, 1, None, eps),
            ]
        # read by _init_weights: this BN's scale starts at 0 when config.zero_init_last_batch_norm
        layers[-1].normalization.is_last_in_residual_branch = True
        self.shortcut = _make_shortcut(config, in_channels, out_channels, stride)
        self.layer = nn.Sequential(*layers)
        if config.use_squeeze_excitation:
            self.se = SqueezeExcitation(out_channels, reduction=config.se_reduction, activation=act)
        else:
            self.se = None
        self.activation = _activation(act)

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        branch = self.layer(hidden_state)
        if self.se is not None:
            branch = self.se(branch)
        # `branch` is a fresh tensor that no backward reads (BN and the SE product keep their inputs): add in place
        if isinstance(self.shortcut, NotesResNetZeroPadShortCut):
            branch = self.shortcut.add_to(branch, hidden_state)
        else:
            branch += self.shortcut(hidden_state)
        return self.activation(branch)


class NotesResNetStage(nn.Module):
    """`depth` blocks; the first one changes width and subsamples (stride), the others keep the shape."""

    def __init__(self, config: NotesResNetConfig, in_channels: int, out_channels: int, stride: int, depth: int):
        super().__init__()
        blocks = [NotesResNetBlock(config, in_channels, out_channels, stride)]
        blocks += [NotesResNetBlock(config, out_channels, out_channels) for _ in range(depth - 1)]
        self.layers = nn.Sequential(*blocks)

    def forward(self, hidden_state: torch.Tensor) -> torch.Tensor:
        return self.layers(hidden_state)


class NotesResNetEncoder(nn.Module):
    def __init__(self, config: NotesResNetConfig):
        super().__init__()
        widths = [config.embedding_size] + config.hidden_sizes
        self.stages = nn.ModuleList(
            NotesResNetStage(
                config,
                widths[index],
                widths[index + 1],
                stride=2 if index > 0 or config.downsample_in_first_stage else 1,
                depth=depth,
            )
            for index, depth in enumerate(config.depths)
        )

    def forward(self, hidden_state: torch.Tensor, output_hidden_states: bool = False):
        """Returns the last feature map and, if asked, (stem output, stage1 output, ..., last stage output)."""
        hidden_states = (hidden_state,) if output_hidden_states else None
        for stage in self.stages:
            hidden_state = stage(hidden_state)
            if output_hidden_states:
                hidden_states += (hidden_state,)
        return hidden_state, hidden_states


class NotesResNetPreTrainedModel(NotesSaveWithCodeMixin, PreTrainedModel):
    config_class = NotesResNetConfig
    config: NotesResNetConfig
    base_model_prefix = "resnet"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = True
    _no_split_modules = ["NotesResNetConvLayer", "NotesResNetShortCut"]

    def post_init(self):
        super().post_init()
        self._apply_preferred_memory_format()

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        loaded = super().from_pretrained(*args, **kwargs)
        # loading replaces the tensors built by __init__, so their memory format is set again here
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        model._apply_preferred_memory_format()
        return loaded

    def card_config_summary(self) -> dict:
        names = ("layer_type", "depths", "hidden_sizes", "shortcut_type", "stem_type", "use_squeeze_excitation",
                 "se_reduction", "downsample_in_bottleneck")
        return {name: getattr(self.config, name) for name in names}

    def _apply_preferred_memory_format(self):
        """With `config.use_channels_last`, keep the convolution weights in NHWC too: an NCHW weight next to an NHWC
        input is reordered on every call (that halved CPU inference throughput in benchmarks/bench_resnet.py).
        `Module.to` swaps the tensors behind the same Parameter objects, so optimizers built later are unaffected."""
        if self.config.use_channels_last:
            self.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def _init_weights(self, module):
        # as transformers' ResNet (He initialisation of convolutions, torch's default for the classifier)
        if isinstance(module, nn.Conv2d):
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(module.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, nn.BatchNorm2d):
            zero_scale = self.config.zero_init_last_batch_norm and getattr(module, "is_last_in_residual_branch", False)
            (init.zeros_ if zero_scale else init.ones_)(module.weight)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
            if getattr(module, "num_batches_tracked", None) is not None:
                init.zeros_(module.num_batches_tracked)

    def _prepare_pixel_values(self, pixel_values: torch.Tensor | None) -> torch.Tensor:
        """Clear errors for the usual mistakes, before the first convolution; then the memory format to run in."""
        self._check_pixel_values(pixel_values)
        if self.config.use_channels_last:
            # one copy of the input; every later op inherits NHWC from its input (a no-op for NHWC input)
            pixel_values = pixel_values.contiguous(memory_format=torch.channels_last)
        return pixel_values

    def _check_pixel_values(self, pixel_values: torch.Tensor | None):
        if pixel_values is None:
            raise ValueError("pixel_values is required ([batch, channels, height, width] floats)")
        check_rank(pixel_values, 4, "pixel_values", "batch, channels, height, width")
        if not pixel_values.is_floating_point():
            raise ValueError(
                f"pixel_values must be floating point (got {pixel_values.dtype}); use the image processor, which "
                "rescales and normalises the images"
            )
        channels, height, width = pixel_values.shape[1:]
        if channels != self.config.num_channels:
            raise ValueError(
                f"pixel_values has {channels} channels but the model was configured with num_channels="
                f"{self.config.num_channels} (shape {tuple(pixel_values.shape)}; channels must be dimension 1)"
            )
        stride = self.config.total_stride
        if height < stride or width < stride:
            raise ValueError(
                f"images of {height}×{width} are smaller than the network's total stride {stride}; "
                f"give at least {stride}×{stride} pixels (e.g. resize them with the image processor)"
            )


class NotesResNetModel(NotesResNetPreTrainedModel):
    """The network without its classifier: `last_hidden_state` [batch, C, h, w], `pooler_output` (global average
    pool, [batch, C, 1, 1] as transformers' ResNet) and, on request, per-stage `hidden_states`."""

    def __init__(self, config: NotesResNetConfig):
        super().__init__(config)
        self.embedder = NotesResNetEmbeddings(config)
        self.encoder = NotesResNetEncoder(config)
        self.pooler = nn.AdaptiveAvgPool2d((1, 1))
        self.post_init()

    @can_return_tuple
    def forward(
        self, pixel_values: torch.Tensor | None = None, output_hidden_states: bool | None = None, **kwargs
    ) -> BaseModelOutputWithPoolingAndNoAttention:
        pixel_values = self._prepare_pixel_values(pixel_values)
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        last_hidden_state, hidden_states = self.encoder(self.embedder(pixel_values), output_hidden_states)
        return BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=last_hidden_state,
            pooler_output=self.pooler(last_hidden_state),
            hidden_states=hidden_states,
        )


class NotesResNetForImageClassification(NotesResNetPreTrainedModel):
    """ResNet + linear classifier on the pooled features. `labels`: class ids [batch] (single-label) or multi-hot
    floats [batch, num_labels] (multi-label, `problem_type="multi_label_classification"`)."""

    def __init__(self, config: NotesResNetConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.resnet = NotesResNetModel(config)
        # Flatten + Linear in a Sequential, as transformers' ResNet: same `classifier.1.*` checkpoint keys
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(config.hidden_sizes[-1], config.num_labels) if config.num_labels > 0 else nn.Identity(),
        )
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> ImageClassifierOutputWithNoAttention:
        outputs = self.resnet(pixel_values, output_hidden_states=output_hidden_states, return_dict=True)
        logits = self.classifier(outputs.pooler_output)
        loss = sequence_classification_loss(self.config, logits, labels) if labels is not None else None
        return ImageClassifierOutputWithNoAttention(loss=loss, logits=logits, hidden_states=outputs.hidden_states)

    def squeeze_excitation_layers(self) -> dict[str, SqueezeExcitation]:
        """The SE layer of every block by name ("stage1.block0", ...); empty without SE."""
        return _squeeze_excitation_layers(self.resnet.encoder)


def _squeeze_excitation_layers(encoder: NotesResNetEncoder) -> dict[str, SqueezeExcitation]:
    return {
        f"stage{stage_index}.block{block_index}": block.se
        for stage_index, stage in enumerate(encoder.stages, start=1)
        for block_index, block in enumerate(stage.layers)
        if block.se is not None
    }


class NotesResNetBackbone(BackboneMixin, NotesResNetPreTrainedModel):
    """Feature maps of the stages named in `config.out_features` ("stem", "stage1", ...), via `AutoBackbone`."""

    has_attentions = False

    def __init__(self, config: NotesResNetConfig):
        super().__init__(config)
        self.num_features = [config.embedding_size] + config.hidden_sizes
        self.embedder = NotesResNetEmbeddings(config)
        self.encoder = NotesResNetEncoder(config)
        self.post_init()

    @can_return_tuple
    @filter_output_hidden_states
    def forward(
        self, pixel_values: torch.Tensor | None = None, output_hidden_states: bool | None = None, **kwargs
    ) -> BackboneOutput:
        pixel_values = self._prepare_pixel_values(pixel_values)
        _, hidden_states = self.encoder(self.embedder(pixel_values), output_hidden_states=True)
        feature_maps = tuple(
            hidden_states[index] for index, stage in enumerate(self.stage_names) if stage in self.out_features
        )
        return BackboneOutput(feature_maps=feature_maps, hidden_states=hidden_states, attentions=None)


AUTO_CLASSES = {
    "AutoModel": NotesResNetModel,
    "AutoModelForImageClassification": NotesResNetForImageClassification,
    "AutoBackbone": NotesResNetBackbone,
}
register_auto_classes(NotesResNetConfig, NotesResNetPreTrainedModel, AUTO_CLASSES)

__all__ = [
    "AUTO_CLASSES",
    "NotesResNetPreTrainedModel",
    "NotesResNetModel",
    "NotesResNetForImageClassification",
    "NotesResNetBackbone",
]
