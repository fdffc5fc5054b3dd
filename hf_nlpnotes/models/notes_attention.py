"""Scaled dot-product attention, written once for every hf_nlpnotes model (the notes, sections 1-2).

softmax(Q Kᵀ / √d_k) V with per-head projections of Q, K and V. The same module serves bidirectional
self-attention (BERT, the Transformer encoder), causal self-attention (the Transformer decoder) and
cross-attention (queries from the decoder, keys and values from the encoder output).

The attention kernel is looked up through transformers' attention interface, so the model's
`attn_implementation` ("eager", "sdpa", "flash_attention_2", "flex_attention") picks it; `eager_attention_forward`
below is the reference that the other kernels must agree with, and the only one that returns the maps.

The output projection W_O is deliberately NOT part of this module: every architecture pairs it with its own
residual / normalisation block (BERT's checkpoint layout stores it as `attention.output.dense`), so the caller owns it.
"""

from collections.abc import Callable

import torch
from torch import nn
from transformers.cache_utils import Cache, EncoderDecoderCache
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from .notes_layers import PrepackableLinear


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """query/key/value: [batch, heads, length, head_dim]; attention_mask: additive, broadcastable to the scores.

    Returns the output as [batch, query_length, heads, head_dim] (the layout every transformers kernel returns) and
    the attention probabilities [batch, heads, query_length, key_length].
    """
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + attention_mask
    weights = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    output = torch.matmul(weights, value).transpose(1, 2).contiguous()
    return output, weights


class NotesMultiHeadAttention(nn.Module):
    """Multi-head attention: Q, K, V projections, split into heads, attention kernel, heads merged back.

    Args:
        config: the model config; only `config._attn_implementation` is read (the interface needs it).
        hidden_size: width of the query input and of the merged output.
        num_heads: number of heads; `hidden_size` must be divisible by it.
        dropout: dropout on the attention probabilities during training.
        is_causal: position i may only attend to positions <= i (decoder self-attention).
        is_cross_attention: keys and values come from `key_value_states` (the encoder output), not from the input.
        layer_idx: index of the layer in its stack, for the KV cache.
        key_value_size: width of `key_value_states` when it differs from `hidden_size`.
        bias: whether the Q/K/V projections have a bias.
    """

    def __init__(
        self,
        config,
        hidden_size: int,
        num_heads: int,
        dropout: float = 0.0,
        is_causal: bool = False,
        is_cross_attention: bool = False,
        layer_idx: int | None = None,
        key_value_size: int | None = None,
        bias: bool = True,
    ):
        super().__init__()
        if hidden_size % num_heads != 0:
            raise ValueError(
                f"hidden size ({hidden_size}) must be divisible by the number of attention heads ({num_heads})"
            )
        self.config = config
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.scaling = self.head_dim**-0.5
        self.attention_dropout = dropout
        self.is_causal = is_causal
        self.is_cross_attention = is_cross_attention
        self.layer_idx = layer_idx
        key_value_size = key_value_size or hidden_size
        # prepackable: decoders run these with a few rows per step (see PrepackableLinear); plain Linear otherwise
        self.query = PrepackableLinear(hidden_size, hidden_size, bias=bias)
        self.key = PrepackableLinear(key_value_size, hidden_size, bias=bias)
        self.value = PrepackableLinear(key_value_size, hidden_size, bias=bias)

    def _split_heads(self, projected: torch.Tensor) -> torch.Tensor:
        # [batch, length, heads * head_dim] -> [batch, heads, length, head_dim]
        return projected.view(*projected.shape[:-1], -1, self.head_dim).transpose(1, 2)

    def _keys_and_values(self, hidden_states, key_value_states, past_key_values):
        if not self.is_cross_attention:
            key = self._split_heads(self.key(hidden_states))
            value = self._split_heads(self.value(hidden_states))
            if past_key_values is not None:
                cache = (
                    past_key_values.self_attention_cache
                    if isinstance(past_key_values, EncoderDecoderCache)
                    else past_key_values
                )
                key, value = cache.update(key, value, self.layer_idx)
            return key, value

        # Cross-attention: the encoder output does not change while decoding, so its K/V are computed once
        # and then read back from the cache on every later step.
        if isinstance(past_key_values, EncoderDecoderCache) and past_key_values.is_updated.get(self.layer_idx):
            layer = past_key_values.cross_attention_cache.layers[self.layer_idx]
            return layer.keys, layer.values
        if key_value_states is None:
            raise ValueError("cross-attention needs `key_value_states` (the encoder output)")
        key = self._split_heads(self.key(key_value_states))
        value = self._split_heads(self.value(key_value_states))
        if isinstance(past_key_values, EncoderDecoderCache):
            key, value = past_key_values.cross_attention_cache.update(key, value, self.layer_idx)
            past_key_values.is_updated[self.layer_idx] = True
        return key, value

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        key_value_states: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        **kwargs,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """hidden_states: [batch, length, hidden]; attention_mask: as built by `transformers.masking_utils`.

        Returns the merged heads [batch, length, hidden] and the attention maps (eager only, else None).
        """
        query = self._split_heads(self.query(hidden_states))
        key, value = self._keys_and_values(hidden_states, key_value_states, past_key_values)

        attention_interface: Callable = ALL_ATTENTION_FUNCTIONS.get_interface(
            self.config._attn_implementation, eager_attention_forward
        )
        output, weights = attention_interface(
            self,
            query,
            key,
            value,
            attention_mask,
            dropout=self.attention_dropout if self.training else 0.0,
            scaling=self.scaling,
            **kwargs,
        )
        output = output.reshape(*hidden_states.shape[:-1], -1).contiguous()
        return output, weights
