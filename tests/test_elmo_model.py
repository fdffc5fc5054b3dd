"""NotesElmo models: shapes, the exact LSTM path against a naive per-step LSTM, fast vs exact, state, save/load, bad input."""

import pytest
import torch

from tests.conftest import BLOCK_PACKAGE
from transformers import AutoConfig, AutoModel, AutoModelForPreTraining

import hf_nlpnotes  # noqa: F401
from hf_nlpnotes import (
    NotesElmoConfig,
    NotesElmoForBidirectionalLM,
    NotesElmoForSequenceClassification,
    NotesElmoForTokenClassification,
    NotesElmoModel,
    NotesElmoTokenizer,
    load_preset,
)

SENTENCES = ["The cat sat on the mat .", "A dog", "Émile 😀 ran far-far-away-and-then-some-more-words-glued-together-here"]


def tiny_config(**overrides):
    return load_preset("elmo-tiny", **overrides)


def build(model_class=NotesElmoModel, seed=0, **overrides):
    torch.manual_seed(seed)
    model = model_class(tiny_config(**overrides))
    model.eval()
    return model


@pytest.fixture(scope="module")
def batch():
    return NotesElmoTokenizer()(SENTENCES, padding=True, return_tensors="pt")


def naive_lstm(lstm: torch.nn.LSTM, inputs, h, c, cell_clip, proj_clip):
    """One row, one direction, the textbook way: the input projection inside the loop, one step at a time."""
    outputs = []
    for x in inputs:
        gates = lstm.weight_ih_l0 @ x + lstm.bias_ih_l0 + lstm.weight_hh_l0 @ h + lstm.bias_hh_l0
        i, f, g, o = gates.chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if cell_clip is not None:
            c = c.clamp(-cell_clip, cell_clip)
        h = lstm.weight_hr_l0 @ (torch.sigmoid(o) * torch.tanh(c))
        if proj_clip is not None:
            h = h.clamp(-proj_clip, proj_clip)
        outputs.append(h)
    return torch.stack(outputs), h, c


def naive_bilm(model: NotesElmoModel, input_ids_row, length):
    """Top layer of one sentence, each direction its own Python loop over its own words."""
    config = model.config
    tokens = model.char_encoder(input_ids_row[None, :length])[0]
    directions = []
    for name in ("forward_lstm", "backward_lstm"):
        hidden = tokens if name == "forward_lstm" else tokens.flip(0)
        for index, layer in enumerate(model.bilm.layers):
            lstm = getattr(layer, name)
            h = torch.zeros(config.projection_dim)
            c = torch.zeros(config.lstm_cell_size)
            out, _, _ = naive_lstm(lstm, hidden, h, c, config.cell_clip, config.proj_clip)
            hidden = out + hidden if index > 0 and config.use_skip_connections else out
        directions.append(hidden if name == "forward_lstm" else hidden.flip(0))
    return torch.cat(directions, dim=-1)


def test_shapes_of_all_layer_outputs(batch):
    model = build()
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True, return_final_states=True)
    batch_size, words = batch["attention_mask"].shape
    assert out.last_hidden_state.shape == (batch_size, words, 32)
    assert len(out.hidden_states) == 3
    assert all(layer.shape == (batch_size, words, 32) for layer in out.hidden_states)
    token_layer = out.hidden_states[0]
    assert torch.equal(token_layer[..., :16], token_layer[..., 16:])  # the token layer, duplicated
    assert torch.equal(out.hidden_states[-1], out.last_hidden_state)
    padding = batch["attention_mask"] == 0
    assert all((layer[padding] == 0).all() for layer in out.hidden_states)
    assert len(out.final_states) == 2
    assert out.final_states[0][0].shape == (2, batch_size, 16) and out.final_states[0][1].shape == (2, batch_size, 32)
    default = model(**batch)
    assert default.hidden_states is None and default.final_states is None
    assert isinstance(model(**batch, return_dict=False), tuple)


@pytest.mark.parametrize("clip", [(0.4, 0.2), (None, None)])
def test_exact_path_matches_naive_per_step_lstm(batch, clip):
    # larger LSTM weights and small clips so that clipping really happens in this random model
    model = build(cell_clip=clip[0], proj_clip=clip[1])
    with torch.no_grad():
        for name, parameter in model.bilm.named_parameters():
            parameter.mul_(4.0)
        memory = model(**batch, return_final_states=True).final_states[0][1]
        if clip[0] is not None:
            assert memory.abs().max() == pytest.approx(clip[0])  # the clip was reached
        ours = model(**batch).last_hidden_state
        lengths = batch["attention_mask"].sum(1)
        for row in range(len(SENTENCES)):
            reference = naive_bilm(model, batch["input_ids"][row], int(lengths[row]))
            torch.testing.assert_close(ours[row, : lengths[row]], reference, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("clip", [(0.3, 0.2), (None, None)])
def test_hand_written_lstm_backward_passes_gradcheck(clip):
    from hf_nlpnotes.models.modeling_notes_elmo import _ClippedLstmRecurrence

    generator = torch.Generator().manual_seed(0)

    def tensor(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_()

    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    inputs = (tensor(2, 3, 4, 12), mask, tensor(2, 3, 2), tensor(2, 3, 3), tensor(2, 2, 12), tensor(2, 3, 2), *clip)
    if clip[0] is not None:  # the clips are reached somewhere, so their gradients are exercised
        outputs, _, memory = _ClippedLstmRecurrence.apply(*inputs)
        assert outputs.abs().max().item() == pytest.approx(clip[1])
        assert memory.abs().max().item() == pytest.approx(clip[0])
    assert torch.autograd.gradcheck(_ClippedLstmRecurrence.apply, inputs, eps=1e-6, atol=1e-5)


def test_exact_path_gradients_match_naive_lstm(batch):
    model = build(cell_clip=0.4, proj_clip=0.2)
    with torch.no_grad():
        for parameter in model.bilm.parameters():
            parameter.mul_(4.0)
    lengths = batch["attention_mask"].sum(1)
    weights = torch.randn(*batch["attention_mask"].shape, 32, generator=torch.Generator().manual_seed(1))
    (model(**batch).last_hidden_state * weights).sum().backward()
    ours = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    total = sum(
        (naive_bilm(model, batch["input_ids"][row], int(lengths[row])) * weights[row, : lengths[row]]).sum()
        for row in range(len(SENTENCES))
    )
    total.backward()
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(ours[name], parameter.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_fast_path_equals_exact_path_without_clipping(batch):
    exact = build(cell_clip=None, proj_clip=None)
    fast = build(cell_clip=None, proj_clip=None, lstm_implementation="fast")
    fast.load_state_dict(exact.state_dict())
    with torch.no_grad():
        a = exact(**batch, output_hidden_states=True, return_final_states=True)
        b = fast(**batch, output_hidden_states=True, return_final_states=True)
    for x, y in zip(a.hidden_states, b.hidden_states):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)
    for (ha, ca), (hb, cb) in zip(a.final_states, b.final_states):
        torch.testing.assert_close(ha, hb, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ca, cb, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("implementation", ["exact", "fast"])
def test_padding_does_not_leak(batch, implementation):
    model = build(lstm_implementation=implementation)
    tokenizer = NotesElmoTokenizer()
    with torch.no_grad():
        batched = model(**batch).last_hidden_state
        for row, sentence in enumerate(SENTENCES):
            alone = model(**tokenizer(sentence, return_tensors="pt")).last_hidden_state[0]
            torch.testing.assert_close(batched[row, : alone.size(0)], alone, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("implementation", ["exact", "fast"])
def test_stateful_and_stateless(implementation):
    model = build(lstm_implementation=implementation)
    tokenizer = NotesElmoTokenizer(add_sentence_boundaries=False)
    first, second = tokenizer("the first half of"), tokenizer("a longer text")
    whole = tokenizer("the first half of a longer text", return_tensors="pt")
    first = tokenizer.pad([first], return_tensors="pt")
    second = tokenizer.pad([second], return_tensors="pt")
    with torch.no_grad():
        # no hidden state in the module: the same input gives the same output, call after call
        torch.testing.assert_close(model(**second).last_hidden_state, model(**second).last_hidden_state, atol=0, rtol=0)
        state = model(**first, return_final_states=True).final_states
        continued = model(**second, initial_states=state).last_hidden_state
        fresh = model(**second).last_hidden_state
        reference = model(**whole).last_hidden_state
    # the forward direction of the continued text equals reading the whole text at once; a fresh start does not
    torch.testing.assert_close(continued[0, :, :16], reference[0, 4:, :16], atol=1e-6, rtol=1e-5)
    assert not torch.allclose(fresh[0, :, :16], reference[0, 4:, :16], atol=1e-3)


def test_final_state_of_a_row_is_at_its_last_real_word():
    model = build()
    tokenizer = NotesElmoTokenizer()
    padded = tokenizer(["short one", "a rather longer sentence here"], padding=True, return_tensors="pt")
    alone = tokenizer("short one", return_tensors="pt")
    with torch.no_grad():
        batched = model(**padded, return_final_states=True).final_states
        single = model(**alone, return_final_states=True).final_states
    for (hb, cb), (hs, cs) in zip(batched, single):
        torch.testing.assert_close(hb[:, :1], hs, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(cb[:, :1], cs, atol=1e-6, rtol=1e-5)


def test_save_load_and_auto_classes(batch, tmp_path):
    model = build(NotesElmoForBidirectionalLM)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    config = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(config, NotesElmoConfig) and config.cnn_filters == [[1, 4], [2, 8], [3, 16]]
    reloaded = AutoModelForPreTraining.from_pretrained(tmp_path).eval()
    assert isinstance(reloaded, NotesElmoForBidirectionalLM)
    base = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(base, NotesElmoModel)
    with torch.no_grad():
        expected = model(**batch).forward_logits
        torch.testing.assert_close(reloaded(**batch).forward_logits, expected, atol=0, rtol=0)
        top = model.elmo(**batch).last_hidden_state
        torch.testing.assert_close(base(**batch).last_hidden_state, top, atol=0, rtol=0)
    # the two LSTM paths read the same weights: switching at load time is a config override
    fast = AutoModel.from_pretrained(tmp_path, lstm_implementation="fast")
    assert fast.config.lstm_implementation == "fast"
    assert isinstance(AutoModel.from_config(tiny_config()), NotesElmoModel)


def test_heads_keep_the_bilm_frozen_by_default(tmp_path):
    model = build(NotesElmoForSequenceClassification)
    assert not any(p.requires_grad for p in model.elmo.parameters())
    assert model.scalar_mix.layer_weights.requires_grad
    model.save_pretrained(tmp_path)
    reloaded = NotesElmoForSequenceClassification.from_pretrained(tmp_path)
    assert not any(p.requires_grad for p in reloaded.elmo.parameters())
    reloaded.train()
    assert not reloaded.elmo.training  # a frozen biLM also keeps its dropout off
    tuned = build(NotesElmoForTokenClassification, freeze_bilm=False)
    assert all(p.requires_grad for p in tuned.elmo.parameters())


def test_sequence_pooling_is_the_shared_attention_and_eager_matches_sdpa(batch):
    model = build(NotesElmoForSequenceClassification, num_labels=3, classifier_num_heads=2)
    assert isinstance(model.pooling_attention, hf_nlpnotes.NotesMultiHeadAttention)
    with torch.no_grad():
        sdpa = model(**batch).logits
        model.config._attn_implementation = "eager"
        eager = model(**batch, output_attentions=True)
    torch.testing.assert_close(sdpa, eager.logits, atol=1e-5, rtol=1e-5)
    weights = eager.attentions[0]  # [batch, heads, 1, words]: nothing on padding
    padding = (batch["attention_mask"][:, None, None, :] == 0).expand_as(weights)
    assert padding.any() and torch.all(weights[padding] == 0)


def test_config_validation_and_allennlp_options(tmp_path):
    with pytest.raises(ValueError, match="NotesElmoConfig.lstm_implementation"):
        NotesElmoConfig(lstm_implementation="cudnn")
    with pytest.raises(ValueError, match="NotesElmoConfig.cnn_filters"):
        NotesElmoConfig(cnn_filters=[[3]])
    with pytest.raises(ValueError, match="NotesElmoConfig.projection_dim"):
        NotesElmoConfig(projection_dim=0)
    with pytest.raises(ValueError, match="NotesElmoConfig.cell_clip"):
        NotesElmoConfig(cell_clip=-1.0)
    options = {
        "lstm": {"use_skip_connections": True, "projection_dim": 512, "cell_clip": 3, "proj_clip": 3, "dim": 4096,
                 "n_layers": 2},
        "char_cnn": {"activation": "relu", "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512],
                                                      [7, 1024]], "n_highway": 2, "embedding": {"dim": 16},
                     "n_characters": 261, "max_characters_per_token": 50},
        "n_tokens_vocab": 793471, "dropout": 0.1, "bidirectional": True,
    }
    config = NotesElmoConfig.from_allennlp_options(options)
    assert config.to_diff_dict() == load_preset("elmo-original").to_diff_dict()
    assert config.num_characters == 262 and config.num_cnn_filters == 2048
    with pytest.raises(ValueError, match="lack the entry 'lstm'"):
        NotesElmoConfig.from_allennlp_options({"char_cnn": {}})


def test_bad_input_is_reported_clearly(batch):
    model = build()
    with pytest.raises(ValueError, match="input_ids must have 3 dimensions"):
        model(input_ids=torch.ones(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="49 characters per word .* max_characters_per_token=50"):
        model(input_ids=torch.ones(2, 5, 49, dtype=torch.long))
    with pytest.raises(ValueError, match="contains id 262, outside \\[0, 262\\)"):
        model(input_ids=torch.full((1, 2, 50), 262))
    with pytest.raises(ValueError, match="contains id -1"):
        model(input_ids=torch.full((1, 2, 50), -1))
    with pytest.raises(ValueError, match="holds no words"):
        model(input_ids=torch.zeros(2, 0, 50, dtype=torch.long))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"][:, :-1])
    with pytest.raises(ValueError, match="real words first"):
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"].flip(1))
    with pytest.raises(ValueError, match=r"initial_states\[0\] must be"):
        states = ((torch.zeros(2, 5, 16), torch.zeros(2, 5, 32)),) * 2
        model(**batch, initial_states=states)
    lm = build(NotesElmoForBidirectionalLM)
    with pytest.raises(ValueError, match="labels contains id 64"):
        lm(**batch, labels=torch.full(batch["attention_mask"].shape, 64))


def test_empty_sentence_rows_give_zeros_and_keep_their_state():
    tokenizer = NotesElmoTokenizer(add_sentence_boundaries=False)
    batch = tokenizer(["", "two words"], padding=True, return_tensors="pt")
    for implementation in ("exact", "fast"):
        model = build(lstm_implementation=implementation)
        with torch.no_grad():
            out = model(**batch, return_final_states=True)
        assert (out.last_hidden_state[0] == 0).all()
        assert all((h[:, 0] == 0).all() and (c[:, 0] == 0).all() for h, c in out.final_states)


def test_saved_folder_loads_without_the_package(batch, tmp_path):
    """save_pretrained copies the code: a process that cannot import hf_nlpnotes loads it with trust_remote_code."""
    import subprocess
    import sys
    import textwrap

    model = build(NotesElmoForBidirectionalLM)
    model.save_pretrained(tmp_path / "saved")
    NotesElmoTokenizer.build_from_texts(["the cat sat"]).save_pretrained(tmp_path / "saved")
    with torch.no_grad():
        torch.save(model.elmo(**batch).last_hidden_state, tmp_path / "expected.pt")
    code = BLOCK_PACKAGE + textwrap.dedent(
        f"""
        import sys, torch
        from transformers import AutoModel, AutoModelForPreTraining, AutoTokenizer
        folder = r"{tmp_path / 'saved'}"
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        AutoModelForPreTraining.from_pretrained(folder, trust_remote_code=True)
        model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
        batch = tokenizer({SENTENCES!r}, padding=True, return_tensors="pt")
        with torch.no_grad():
            output = model(**batch).last_hidden_state
        torch.testing.assert_close(output, torch.load(r"{tmp_path / 'expected.pt'}", weights_only=True))
        print(type(model).__module__)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1].startswith("transformers_modules")
