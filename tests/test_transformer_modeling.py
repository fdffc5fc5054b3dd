"""NotesTransformer: positional encoding, masking, caching, generation, norms, saving and bad input."""

import math

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

import hf_nlpnotes
from hf_nlpnotes import (
    NotesTransformerConfig,
    NotesTransformerForConditionalGeneration,
    NotesTransformerModel,
    sinusoidal_positional_encoding,
)
from hf_nlpnotes.models.modeling_notes_transformer import NotesTransformerMaskedBatchNorm

VOCAB = 64


def tiny_config(**overrides) -> NotesTransformerConfig:
    fields = dict(
        vocab_size=VOCAB,
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=40,
        # a spread-out, untied random model, so that greedy/beam outputs are not one token repeated
        init_std=0.1,
        tie_word_embeddings=False,
    )
    fields.update(overrides)
    return NotesTransformerConfig(**fields)


def tiny_model(seed=0, **overrides) -> NotesTransformerForConditionalGeneration:
    torch.manual_seed(seed)
    return NotesTransformerForConditionalGeneration(tiny_config(**overrides)).eval()


def source_batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(4, VOCAB, (3, 9), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 6:] = 0
    attention_mask[2, 3:] = 0
    input_ids = input_ids.masked_fill(attention_mask == 0, 0)
    return input_ids, attention_mask


def test_positional_encoding_matches_the_formula():
    positions = torch.arange(50)
    dim = 12
    encoding = sinusoidal_positional_encoding(positions, dim)
    expected = torch.zeros(50, dim, dtype=torch.float64)
    for pos in range(50):
        for i in range(dim // 2):
            angle = pos / 10000 ** (2 * i / dim)
            expected[pos, 2 * i] = math.sin(angle)
            expected[pos, 2 * i + 1] = math.cos(angle)
    torch.testing.assert_close(encoding.double(), expected, atol=2e-5, rtol=0)


def test_embeddings_are_scaled_tokens_plus_positions_and_have_no_position_parameters():
    model = tiny_model()
    assert not any("position" in name for name, _ in model.named_parameters())
    encoder = model.model.encoder
    input_ids = torch.tensor([[5, 6, 7]])
    captured = {}
    hook = encoder.layers[0].register_forward_pre_hook(lambda module, args: captured.setdefault("x", args[0]))
    encoder(input_ids=input_ids)
    hook.remove()
    expected = model.model.shared(input_ids) * math.sqrt(16) + sinusoidal_positional_encoding(torch.arange(3), 16)
    torch.testing.assert_close(captured["x"], expected)


def test_weights_are_tied_and_shared():
    model = tiny_model(tie_word_embeddings=True)
    assert model.lm_head.weight is model.model.shared.weight
    assert model.model.encoder.embed_tokens is model.model.decoder.embed_tokens is model.model.shared
    untied = tiny_model(tie_word_embeddings=False)
    assert untied.lm_head.weight is not untied.model.shared.weight


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_decoder_is_causal(attn_implementation):
    model = tiny_model()
    model.config._attn_implementation = attn_implementation
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.randint(4, VOCAB, (3, 7), generator=torch.Generator().manual_seed(1))
    changed = decoder_input_ids.clone()
    changed[:, 4:] = torch.randint(4, VOCAB, (3, 3), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = model(input_ids, attention_mask, decoder_input_ids=decoder_input_ids).logits
        after = model(input_ids, attention_mask, decoder_input_ids=changed).logits
    torch.testing.assert_close(before[:, :4], after[:, :4])
    assert not torch.allclose(before[:, 4:], after[:, 4:])


def test_source_padding_is_ignored():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.full((3, 4), 1)
    garbage = input_ids.clone()
    garbage[attention_mask == 0] = 33  # different content under the padding
    with torch.no_grad():
        clean = model(input_ids, attention_mask, decoder_input_ids=decoder_input_ids).logits
        noisy = model(garbage, attention_mask, decoder_input_ids=decoder_input_ids).logits
        alone = model(input_ids[2:, :3], attention_mask[2:, :3], decoder_input_ids=decoder_input_ids[2:]).logits
    torch.testing.assert_close(clean, noisy)
    torch.testing.assert_close(clean[2:], alone, atol=1e-5, rtol=1e-5)


def test_eager_and_sdpa_agree_and_attention_maps_have_the_right_shape():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.randint(4, VOCAB, (3, 5), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        sdpa = model(input_ids, attention_mask, decoder_input_ids=decoder_input_ids).logits
        model.config._attn_implementation = "eager"
        out = model(input_ids, attention_mask, decoder_input_ids=decoder_input_ids, output_attentions=True)
    torch.testing.assert_close(sdpa, out.logits, atol=1e-5, rtol=1e-5)
    assert len(out.encoder_attentions) == len(out.decoder_attentions) == len(out.cross_attentions) == 2
    assert out.encoder_attentions[0].shape == (3, 2, 9, 9)
    assert out.decoder_attentions[0].shape == (3, 2, 5, 5)
    assert out.cross_attentions[0].shape == (3, 2, 5, 9)
    # masked self-attention is lower triangular; cross-attention gives padded source tokens no weight
    upper = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    assert out.decoder_attentions[-1][:, :, upper].abs().max() == 0
    assert out.cross_attentions[-1][2, :, :, 3:].abs().max() == 0


@pytest.mark.parametrize("num_beams", [1, 4])
def test_generation_with_and_without_cache_is_identical(num_beams):
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    kwargs = dict(max_new_tokens=12, num_beams=num_beams, do_sample=False)
    if num_beams > 1:
        kwargs["length_penalty"] = 0.6
    cached = model.generate(input_ids, attention_mask=attention_mask, use_cache=True, **kwargs)
    uncached = model.generate(input_ids, attention_mask=attention_mask, use_cache=False, **kwargs)
    assert torch.equal(cached, uncached)
    assert cached.shape[1] > 3
    assert len(set(cached[0, 1:].tolist())) > 1  # not a degenerate repetition of one token
    assert (cached[:, 0] == model.config.decoder_start_token_id).all()


def test_cached_decoder_gets_one_token_per_step_and_cache_matches_full_pass():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    lengths = []
    hook = model.model.decoder.register_forward_pre_hook(
        lambda module, args, kwargs: lengths.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    generated = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=6, min_new_tokens=6)
    hook.remove()
    assert lengths == [1] * 6
    with torch.no_grad():
        full = model(input_ids, attention_mask, decoder_input_ids=generated[:, :-1]).logits
    assert torch.equal(full.argmax(-1), generated[:, 1:])


def test_sampling_and_eos_handling():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    torch.manual_seed(0)
    sampled = model.generate(input_ids, attention_mask=attention_mask, do_sample=True, top_k=10, max_new_tokens=5)
    assert sampled.shape[0] == 3 and sampled.shape[1] <= 6
    # EOS handling: declare the token greedy search emits third in row 0 to be EOS; that row must stop there
    # (ending with EOS, then padding) while the others continue
    free = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=8, min_new_tokens=8)
    eos = int(free[0, 3])
    stopped = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=8, eos_token_id=eos)
    first = int((free[0] == eos).nonzero()[0])
    assert torch.equal(stopped[0, : first + 1], free[0, : first + 1])
    assert (stopped[0, first + 1 :] == model.config.pad_token_id).all()


def test_label_smoothed_loss_ignores_padding():
    model = tiny_model(label_smoothing=0.1)
    input_ids, attention_mask = source_batch()
    labels = torch.randint(4, VOCAB, (3, 6), generator=torch.Generator().manual_seed(4))
    labels[1, 4:] = -100
    out = model(input_ids, attention_mask, labels=labels)
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels)
    assert decoder_input_ids[0, 0] == model.config.decoder_start_token_id
    assert decoder_input_ids[1, 5] == model.config.pad_token_id
    log_probs = out.logits.log_softmax(-1)
    keep = labels != -100
    nll = -log_probs[keep].gather(-1, labels[keep].unsqueeze(-1)).squeeze(-1)
    uniform = -log_probs[keep].mean(-1)
    expected = (0.9 * nll + 0.1 * uniform).mean()
    torch.testing.assert_close(out.loss, expected)


@pytest.mark.parametrize("normalize_before", [False, True])
@pytest.mark.parametrize("norm_type", ["layernorm", "batchnorm"])
def test_norm_variants_train_and_generate(norm_type, normalize_before):
    model = tiny_model(norm_type=norm_type, normalize_before=normalize_before)
    assert (model.model.encoder.layer_norm is not None) == normalize_before
    input_ids, attention_mask = source_batch()
    labels = torch.randint(4, VOCAB, (3, 5), generator=torch.Generator().manual_seed(5))
    labels[2, 3:] = -100
    model.train()
    loss = model(input_ids, attention_mask, labels=labels).loss
    loss.backward()
    assert torch.isfinite(loss)
    model.eval()
    cached = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=5)
    uncached = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=5, use_cache=False)
    assert torch.equal(cached, uncached)


def test_batchnorm_statistics_ignore_padding():
    torch.manual_seed(0)
    norm = NotesTransformerMaskedBatchNorm(6)
    reference = torch.nn.BatchNorm1d(6)
    hidden = torch.randn(3, 5, 6)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    out = norm(hidden, mask)
    expected = reference(hidden[mask.bool()])  # BatchNorm over the real tokens only
    torch.testing.assert_close(out[mask.bool()], expected)
    torch.testing.assert_close(norm.running_mean, reference.running_mean)
    torch.testing.assert_close(norm.running_var, reference.running_var)
    # changing the padding (its values and its amount) changes nothing for the real tokens
    padded_more = torch.cat([hidden, torch.full((3, 4, 6), 50.0)], dim=1)
    mask_more = torch.cat([mask, torch.zeros(3, 4, dtype=torch.long)], dim=1)
    fresh = NotesTransformerMaskedBatchNorm(6)
    torch.testing.assert_close(fresh(padded_more, mask_more)[mask_more.bool()], expected)
    norm.eval()
    reference.eval()
    torch.testing.assert_close(norm(hidden)[0], reference(hidden[0]))


def test_batchnorm_model_outputs_do_not_depend_on_padding():
    model = tiny_model(norm_type="batchnorm", dropout=0.0)
    model.train()
    input_ids, attention_mask = source_batch()
    labels = torch.randint(4, VOCAB, (3, 5), generator=torch.Generator().manual_seed(5))
    labels[2, 3:] = -100
    short = model(input_ids, attention_mask, labels=labels)
    longer = model(
        torch.cat([input_ids, torch.zeros(3, 4, dtype=torch.long)], 1),
        torch.cat([attention_mask, torch.zeros(3, 4, dtype=torch.long)], 1),
        labels=torch.cat([labels, torch.full((3, 2), -100)], 1),
    )
    torch.testing.assert_close(short.loss, longer.loss)


def test_save_load_and_auto_classes(tmp_path):
    model = tiny_model(tie_word_embeddings=True)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    config = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(config, NotesTransformerConfig)
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    assert isinstance(reloaded, NotesTransformerForConditionalGeneration)
    assert reloaded.lm_head.weight is reloaded.model.shared.weight
    base = AutoModel.from_pretrained(tmp_path)
    assert isinstance(base, NotesTransformerModel)
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.full((3, 3), 1)
    with torch.no_grad():
        torch.testing.assert_close(
            model(input_ids, attention_mask, decoder_input_ids=decoder_input_ids).logits,
            reloaded(input_ids, attention_mask, decoder_input_ids=decoder_input_ids).logits,
        )
        torch.testing.assert_close(
            model.model(input_ids, attention_mask, decoder_input_ids=decoder_input_ids).last_hidden_state,
            base.eval()(input_ids, attention_mask, decoder_input_ids=decoder_input_ids).last_hidden_state,
        )


def test_presets():
    base = hf_nlpnotes.load_preset("transformer-base")
    assert (base.d_model, base.encoder_layers, base.decoder_attention_heads, base.encoder_ffn_dim) == (512, 6, 8, 2048)
    assert (base.dropout, base.label_smoothing) == (0.1, 0.1)
    big = hf_nlpnotes.load_preset("transformer-big")
    assert (big.d_model, big.encoder_attention_heads, big.decoder_ffn_dim, big.dropout) == (1024, 16, 4096, 0.3)
    assert "transformer-tiny" in hf_nlpnotes.list_presets("notes_transformer")


# ---------------------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "field, value",
    [("d_model", 17), ("d_model", 15), ("norm_type", "groupnorm"), ("dropout", 1.5), ("eos_token_id", 99)],
)
def test_config_validation_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        tiny_config(**{field: value}) if field != "d_model" or value != 15 else tiny_config(
            d_model=15, encoder_attention_heads=1, decoder_attention_heads=1
        )


def test_source_longer_than_the_maximum_is_refused():
    model = tiny_model()
    with pytest.raises(ValueError, match="max_position_embeddings=40"):
        model(torch.ones(1, 41, dtype=torch.long), decoder_input_ids=torch.ones(1, 2, dtype=torch.long))


def test_mismatched_attention_mask_is_refused():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    with pytest.raises(ValueError, match="attention_mask has shape"):
        model(input_ids, attention_mask[:, :-1], decoder_input_ids=torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="decoder_attention_mask has shape"):
        model(
            input_ids,
            attention_mask,
            decoder_input_ids=torch.ones(3, 2, dtype=torch.long),
            decoder_attention_mask=torch.ones(3, 5, dtype=torch.long),
        )


def test_labels_outside_the_vocabulary_are_refused():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    labels = torch.full((3, 4), 5)
    labels[0, 2] = VOCAB + 3
    with pytest.raises(ValueError, match=f"id {VOCAB + 3}"):
        model(input_ids, attention_mask, labels=labels)
    with pytest.raises(ValueError, match="input_ids contains id -"):
        model(input_ids - 8, attention_mask, labels=torch.full((3, 4), 5))


def test_generation_without_decoder_start_token_is_refused():
    model = tiny_model(decoder_start_token_id=None, bos_token_id=None)
    input_ids, attention_mask = source_batch()
    with pytest.raises(ValueError, match="decoder_start_token_id"):
        model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=3)
    with pytest.raises(ValueError, match="decoder_start_token_id"):
        model(input_ids, attention_mask, labels=torch.full((3, 4), 5))


def test_empty_source_is_refused():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    attention_mask[1] = 0
    with pytest.raises(ValueError, match="source sequence 1 of the batch is empty"):
        model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=3)


@pytest.mark.parametrize("num_beams", [1, 4])
def test_generation_with_prepacked_weights_equals_plain_weights(num_beams):
    from hf_nlpnotes.models.notes_layers import onednn_packing_available

    if not onednn_packing_available():
        pytest.skip("this torch build has no oneDNN linear prepacking (torch.ops.mkldnn)")
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    seen = []
    hook = model.lm_head.register_forward_pre_hook(lambda module, args: seen.append(module.packed_weight is not None))
    kwargs = dict(max_new_tokens=10, num_beams=num_beams, output_scores=True, return_dict_in_generate=True)
    packed = model.generate(input_ids, attention_mask=attention_mask, **kwargs)
    hook.remove()
    plain = model.generate(input_ids, attention_mask=attention_mask, prepack_weights=False, **kwargs)
    assert seen and all(seen)  # every step ran from the packed weights ...
    assert model.lm_head.packed_weight is None  # ... which are gone after the call
    assert torch.equal(packed.sequences, plain.sequences)
    for packed_scores, plain_scores in zip(packed.scores, plain.scores):
        torch.testing.assert_close(packed_scores, plain_scores, rtol=1e-4, atol=1e-4)
