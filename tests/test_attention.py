"""The shared attention module against the formula, across kernels, causal and cross."""

import math

import pytest
import torch
from torch import nn
from transformers import PreTrainedConfig

from hf_nlpnotes import NotesMultiHeadAttention, eager_attention_forward


def make(impl="eager", **kwargs):
    config = PreTrainedConfig()
    config._attn_implementation = impl
    torch.manual_seed(0)
    return NotesMultiHeadAttention(config, hidden_size=16, num_heads=4, **kwargs).eval()


def manual(module, x, kv=None, causal=False, key_padding=None):
    """softmax(QKᵀ/√d)V head by head, written out from the notes."""
    kv = x if kv is None else kv
    q, k, v = module.query(x), module.key(kv), module.value(kv)
    heads = []
    d = module.head_dim
    for h in range(module.num_heads):
        qs, ks, vs = (t[..., h * d : (h + 1) * d] for t in (q, k, v))
        scores = qs @ ks.transpose(-1, -2) / math.sqrt(d)
        if causal:
            scores = scores.masked_fill(torch.ones_like(scores, dtype=torch.bool).triu(1), float("-inf"))
        if key_padding is not None:
            scores = scores.masked_fill(~key_padding[:, None, :], float("-inf"))
        heads.append(torch.softmax(scores, -1) @ vs)
    return torch.cat(heads, -1)


def additive(mask_bool):
    return torch.zeros(mask_bool.shape).masked_fill(~mask_bool, torch.finfo(torch.float32).min)[:, None]


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_self_attention_matches_formula(impl):
    module = make(impl)
    x = torch.randn(2, 5, 16)
    out, _ = module(x)
    torch.testing.assert_close(out, manual(module, x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_causal_attention_matches_formula_and_ignores_the_future(impl):
    module = make(impl, is_causal=True)
    x = torch.randn(2, 6, 16)
    mask = torch.ones(6, 6, dtype=torch.bool).tril()[None, None].expand(2, 1, 6, 6)
    out, _ = module(x, attention_mask=mask if impl == "sdpa" else additive(mask[:, 0]).squeeze(1)[:, None])
    torch.testing.assert_close(out, manual(module, x, causal=True), atol=1e-5, rtol=1e-5)
    changed = x.clone()
    changed[:, 4:] = torch.randn(2, 2, 16)
    out_changed, _ = module(changed, attention_mask=mask if impl == "sdpa" else additive(mask[:, 0]).squeeze(1)[:, None])
    torch.testing.assert_close(out[:, :4], out_changed[:, :4])


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_cross_attention_reads_keys_and_values_from_the_other_sequence(impl):
    module = make(impl, is_cross_attention=True)
    x, memory = torch.randn(2, 3, 16), torch.randn(2, 7, 16)
    padding = torch.ones(2, 7, dtype=torch.bool)
    padding[1, 5:] = False
    mask = padding[:, None, None, :] if impl == "sdpa" else additive(padding[:, None, :].expand(2, 3, 7))
    out, _ = module(x, attention_mask=mask, key_value_states=memory)
    torch.testing.assert_close(out, manual(module, x, kv=memory, key_padding=padding), atol=1e-5, rtol=1e-5)


def test_eager_returns_probability_maps():
    module = make("eager")
    _, weights = module(torch.randn(2, 5, 16))
    assert weights.shape == (2, 4, 5, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 5))


def test_cross_attention_without_memory_is_a_clear_error():
    with pytest.raises(ValueError, match="key_value_states"):
        make(is_cross_attention=True)(torch.randn(1, 2, 16))


def test_indivisible_heads_rejected():
    with pytest.raises(ValueError, match="divisible"):
        NotesMultiHeadAttention(PreTrainedConfig(), hidden_size=10, num_heads=4)


def test_eager_function_dropout_only_in_training():
    module = nn.Module().eval()
    q = torch.randn(1, 2, 3, 4)
    a, _ = eager_attention_forward(module, q, q, q, None, dropout=0.9)
    b, _ = eager_attention_forward(module, q, q, q, None, dropout=0.0)
    torch.testing.assert_close(a, b)
