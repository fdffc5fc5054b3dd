"""Building blocks shared by the hf_nlpnotes architectures; each idea is written here once.

- `sinusoidal_positional_encoding`: the fixed encoding of "Attention Is All You Need" (the Transformer).
- `Highway`: highway layers (ELMo's character token layer).
- `SqueezeExcitation`: channel attention of SENet (the notes, section 3; SE-ResNet).
- `ScalarMix`: ELMo's learned, softmax-normalised weighted sum of layer representations.
- `PrepackableLinear` / `prepacked_linears`: a Linear that runs from a oneDNN-prepacked weight while decoding on CPU.
"""

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from transformers.activations import ACT2FN
from transformers.utils import logging

logger = logging.get_logger(__name__)


def sinusoidal_positional_encoding(
    positions: torch.Tensor, dim: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """PE(pos, 2i) = sin(pos / 10000^(2i/dim)), PE(pos, 2i+1) = cos(pos / 10000^(2i/dim)).

    Computed from the positions on every call (no parameters, no table), so any length works and nothing
    needs re-initialising after a meta-device load. `positions`: integer tensor of any shape; returns
    `positions.shape + (dim,)`. `dim` must be even, as in the paper.
    """
    if dim % 2 != 0:
        raise ValueError(f"the sinusoidal positional encoding needs an even dimension, got {dim}")
    # exp/log form of 10000^(-2i/dim), computed in float32 (float64 on CPU is slower and buys nothing here)
    inv_freq = torch.exp(
        torch.arange(0, dim, 2, device=positions.device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    angles = positions.to(torch.float32).unsqueeze(-1) * inv_freq
    # interleave so that even indices hold sin and odd indices cos, exactly as the formula is written
    encoding = torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)
    return encoding.to(dtype)


class Highway(nn.Module):
    """Highway layers (Srivastava et al., 2015): y = t ⊙ f(W_h x) + (1 − t) ⊙ x with gate t = σ(W_t x).

    A gate near 0 lets the input through unchanged, which is why stacking them stays trainable.
    """

    def __init__(self, dim: int, num_layers: int, activation: str = "relu"):
        super().__init__()
        self.transforms = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_layers))
        self.gates = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_layers))
        self.activation = ACT2FN[activation]

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        for transform, gate in zip(self.transforms, self.gates):
            transform_gate = torch.sigmoid(gate(hidden))
            hidden = transform_gate * self.activation(transform(hidden)) + (1.0 - transform_gate) * hidden
        return hidden


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al., SENet; the notes, section 3).

    Squeeze: global average pool H×W×C → 1×1×C. Excite: bottleneck FC (C → C/r), activation, FC (C/r → C),
    sigmoid. The input is rescaled channel by channel with those weights. The FCs are 1×1 convolutions so that
    the layer works on NCHW and channels_last inputs alike without reshapes.

    The last excitation weights ([batch, channels]) are kept in `last_excitation` when `keep_excitation` is set,
    for visualisation; they are not kept by default so that no tensor outlives the forward pass.
    """

    def __init__(self, channels: int, reduction: int = 16, activation: str = "relu", bias: bool = True):
        super().__init__()
        if channels <= 0 or reduction <= 0:
            raise ValueError(f"SqueezeExcitation needs positive channels and reduction, got {channels}, {reduction}")
        reduced = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, reduced, kernel_size=1, bias=bias)
        self.activation = ACT2FN[activation]
        self.fc2 = nn.Conv2d(reduced, channels, kernel_size=1, bias=bias)
        self.keep_excitation = False
        self.last_excitation: torch.Tensor | None = None

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        squeezed = hidden.mean(dim=(2, 3), keepdim=True)
        excitation = torch.sigmoid(self.fc2(self.activation(self.fc1(squeezed))))
        if self.keep_excitation:
            self.last_excitation = excitation.detach().flatten(1)
        return hidden * excitation


class ScalarMix(nn.Module):
    """ELMo's task-specific mix of layers: γ · Σ_k softmax(s)_k · h_k (Peters et al., 2018, eq. 1).

    With `do_layer_norm`, each layer is first normalised with the mean and variance over all of its unmasked
    elements (the whole batch at once, as the original does), which needs the word `mask`.
    """

    def __init__(self, num_layers: int, do_layer_norm: bool = False, initial_weights: list[float] | None = None):
        super().__init__()
        if num_layers <= 0:
            raise ValueError(f"ScalarMix needs at least one layer, got {num_layers}")
        initial_weights = initial_weights or [0.0] * num_layers
        if len(initial_weights) != num_layers:
            raise ValueError(f"ScalarMix got {len(initial_weights)} initial weights for {num_layers} layers")
        self.num_layers = num_layers
        self.do_layer_norm = do_layer_norm
        self.layer_weights = nn.Parameter(torch.tensor(initial_weights, dtype=torch.float32))
        self.gamma = nn.Parameter(torch.ones(1))

    @staticmethod
    def _masked_layer_norm(layer: torch.Tensor, mask: torch.Tensor, num_elements: torch.Tensor) -> torch.Tensor:
        mean = (layer * mask).sum() / num_elements
        variance = (((layer - mean) * mask) ** 2).sum() / num_elements
        return (layer - mean) / torch.sqrt(variance + 1e-12)

    def forward(self, layers: list[torch.Tensor] | tuple[torch.Tensor, ...], mask: torch.Tensor | None = None):
        if len(layers) != self.num_layers:
            raise ValueError(f"ScalarMix was built for {self.num_layers} layers but got {len(layers)}")
        weights = torch.softmax(self.layer_weights, dim=0)
        if self.do_layer_norm:
            if mask is None:
                raise ValueError("ScalarMix with do_layer_norm=True needs the word mask")
            broadcast_mask = mask.unsqueeze(-1).to(layers[0].dtype)
            num_elements = broadcast_mask.sum() * layers[0].size(-1)
            layers = [self._masked_layer_norm(layer, broadcast_mask, num_elements) for layer in layers]
        mixed = sum(weight * layer for weight, layer in zip(weights, layers))
        return self.gamma * mixed


class PrepackableLinear(nn.Linear):
    """`nn.Linear` that, inside `prepacked_linears(...)`, runs from a oneDNN-prepacked copy of its weight.

    Why: a decoding step feeds only batch × beams rows through every projection, so each product is bound by
    reading the weight, and torch's default fp32 CPU path (MKL on the plain [out, in] layout) reads it slowly for
    so few rows. oneDNN's blocked layout — the one torch.compile's CPU weight freezing uses — computes the same fp32
    product 1.5–2.7× faster at 8 rows (measured per product; bench_transformer.py shows the effect on generate()).
    Parameters and state-dict keys are those of `nn.Linear`; the packed copy lives only inside the context and is
    never saved. Whenever autograd or CPU autocast is on, or the input is not a CPU tensor of the weight's dtype,
    the layer is a plain `F.linear`, so training is untouched.
    """

    packed_weight: torch.Tensor | None = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        packed = self.packed_weight
        if (
            packed is not None
            and not torch.is_grad_enabled()
            and input.device.type == "cpu"
            and input.dtype == self.weight.dtype
            and not torch.is_autocast_enabled("cpu")  # autocast wants F.linear's reduced-precision product
            and not torch.compiler.is_compiling()  # compiled graphs pick their own weight layout
        ):
            return torch.ops.mkldnn._linear_pointwise(input, packed, self.bias, "none", [], "")
        return nn.functional.linear(input, self.weight, self.bias)


def onednn_packing_available() -> bool:
    """True when this torch build has oneDNN's linear prepacking (x86 and arm64 builds) and it is enabled."""
    if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        return False
    return hasattr(torch.ops.mkldnn, "_reorder_linear_weight") and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _packable(layer: PrepackableLinear) -> bool:
    weight = layer.weight
    return (
        layer.packed_weight is None  # already packed by an enclosing context: leave it to that one
        and weight.device.type == "cpu"
        and weight.dtype == torch.float32
        and tuple(weight.shape) == (layer.out_features, layer.in_features)  # not sharded / offloaded
    )


@contextmanager
def prepacked_linears(modules: Iterable[nn.Module], rows: int) -> Iterator[int]:
    """Prepacks the fp32 CPU weights of every `PrepackableLinear` in `modules` for products of about `rows` rows
    (any row count stays correct; `rows` only picks the blocking) and drops the packed copies on exit.

    The packed copies are made from the weights as they are on entry, so nothing may change the weights inside the
    context (generate() does not). Costs one extra copy of those weights while it is open. Does nothing where
    oneDNN is unavailable. Yields the number of layers packed.
    """
    packed_layers = []
    if onednn_packing_available():
        try:
            for root in modules:
                for layer in root.modules():
                    if isinstance(layer, PrepackableLinear) and _packable(layer):
                        layer.packed_weight = torch.ops.mkldnn._reorder_linear_weight(
                            layer.weight.detach(), max(int(rows), 1)
                        )
                        packed_layers.append(layer)
        except RuntimeError as error:
            # a oneDNN build that cannot pack this weight: plain F.linear is correct, only slower
            logger.info("oneDNN weight prepacking failed (%s); using plain linear layers", error)
            for layer in packed_layers:
                layer.packed_weight = None
            packed_layers = []
    try:
        yield len(packed_layers)
    finally:
        for layer in packed_layers:
            layer.packed_weight = None
