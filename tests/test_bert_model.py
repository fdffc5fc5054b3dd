"""NotesBert against transformers' BERT: same state-dict keys, same outputs, Auto classes, save/load, heads."""

import importlib.util

import pytest
import torch
import transformers
from transformers import AutoConfig, AutoModel

import hf_nlpnotes
from hf_nlpnotes import (
    NotesBertConfig,
    NotesBertForMaskedLM,
    NotesBertForMultipleChoice,
    NotesBertForNextSentencePrediction,
    NotesBertForPreTraining,
    NotesBertForQuestionAnswering,
    NotesBertForSequenceClassification,
    NotesBertForTokenClassification,
    NotesBertModel,
)

TINY = dict(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, max_position_embeddings=64
)
PAIRS = [
    (NotesBertModel, transformers.BertModel, "AutoModel"),
    (NotesBertForPreTraining, transformers.BertForPreTraining, "AutoModelForPreTraining"),
    (NotesBertForMaskedLM, transformers.BertForMaskedLM, "AutoModelForMaskedLM"),
    (NotesBertForNextSentencePrediction, transformers.BertForNextSentencePrediction, "AutoModelForNextSentencePrediction"),
    (NotesBertForSequenceClassification, transformers.BertForSequenceClassification, "AutoModelForSequenceClassification"),
    (NotesBertForTokenClassification, transformers.BertForTokenClassification, "AutoModelForTokenClassification"),
    (NotesBertForQuestionAnswering, transformers.BertForQuestionAnswering, "AutoModelForQuestionAnswering"),
    (NotesBertForMultipleChoice, transformers.BertForMultipleChoice, "AutoModelForMultipleChoice"),
]


def inputs(multiple_choice=False):
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 99, (3, 11), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    types = torch.zeros_like(ids)
    types[:, 5:] = 1
    batch = dict(input_ids=ids, attention_mask=mask, token_type_ids=types)
    if multiple_choice:
        batch = {key: value.unsqueeze(1).repeat(1, 2, 1) for key, value in batch.items()}
    return batch


def outputs_close(a, b):
    keys = [key for key in b.keys() if torch.is_tensor(b[key])]
    assert keys, "nothing to compare"
    for key in keys:
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
@pytest.mark.parametrize("ours_class,reference_class,auto_name", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_state_dicts_interchange_and_outputs_agree(ours_class, reference_class, auto_name, impl):
    ours = ours_class(NotesBertConfig(**TINY, attn_implementation=impl)).eval()
    reference = reference_class(transformers.BertConfig(**TINY, attn_implementation=impl)).eval()
    assert set(ours.state_dict()) == set(reference.state_dict())
    batch = inputs(ours_class is NotesBertForMultipleChoice)

    ours.load_state_dict(reference.state_dict(), strict=True)  # transformers -> ours
    with torch.no_grad():
        outputs_close(ours(**batch), reference(**batch))

    torch.manual_seed(5)
    fresh = ours_class(NotesBertConfig(**TINY, attn_implementation=impl)).eval()
    reference.load_state_dict(fresh.state_dict(), strict=True)  # ours -> transformers
    with torch.no_grad():
        outputs_close(fresh(**batch), reference(**batch))


@pytest.mark.parametrize("ours_class,reference_class,auto_name", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_auto_classes_resolve_every_head(ours_class, reference_class, auto_name):
    config = AutoConfig.for_model("notes_bert", **TINY)
    model = getattr(transformers, auto_name).from_config(config)
    assert type(model) is ours_class


def test_save_and_reload_give_identical_outputs(tmp_path):
    model = NotesBertForPreTraining(NotesBertConfig(**TINY)).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    assert not list(tmp_path.glob("*.bin"))
    reloaded = transformers.AutoModelForPreTraining.from_pretrained(tmp_path).eval()
    assert type(reloaded) is NotesBertForPreTraining
    assert reloaded.cls.predictions.decoder.weight.data_ptr() == reloaded.bert.embeddings.word_embeddings.weight.data_ptr()
    batch = inputs()
    with torch.no_grad():
        a, b = model(**batch), reloaded(**batch)
    torch.testing.assert_close(a.prediction_logits, b.prediction_logits, rtol=0, atol=0)
    torch.testing.assert_close(a.seq_relationship_logits, b.seq_relationship_logits, rtol=0, atol=0)
    base = AutoModel.from_pretrained(tmp_path)  # the encoder alone from a pretraining checkpoint
    assert type(base) is NotesBertModel


def test_eager_attention_maps_and_hidden_states():
    model = NotesBertModel(NotesBertConfig(**TINY, attn_implementation="eager")).eval()
    out = model(**inputs(), output_attentions=True, output_hidden_states=True)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (3, 4, 11, 11)
    # padded keys get no attention
    assert out.attentions[0][1, :, :, 7:].abs().max() < 1e-6
    assert len(out.hidden_states) == 3
    torch.testing.assert_close(out.hidden_states[-1], out.last_hidden_state)


@pytest.mark.parametrize("impl", ["sdpa", "flex_attention"])
def test_attention_kernels_agree_with_eager(impl):
    if impl == "flex_attention" and importlib.util.find_spec("torch.nn.attention.flex_attention") is None:
        pytest.skip("this torch build has no flex_attention")
    eager = NotesBertForMaskedLM(NotesBertConfig(**TINY, attn_implementation="eager")).eval()
    other = NotesBertForMaskedLM(NotesBertConfig(**TINY, attn_implementation=impl)).eval()
    other.load_state_dict(eager.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(eager(**inputs()).logits, other(**inputs()).logits, atol=1e-5, rtol=1e-5)


def test_gradient_checkpointing_gives_the_same_gradients():
    config = NotesBertConfig(**TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    plain = NotesBertForMaskedLM(config)
    checkpointed = NotesBertForMaskedLM(config)
    checkpointed.load_state_dict(plain.state_dict())
    checkpointed.activation_checkpointing_enable()
    assert any(getattr(m, "gradient_checkpointing", False) for m in checkpointed.modules())
    labels = inputs()["input_ids"].clone()
    for model in (plain, checkpointed):
        model.train()
        model(**inputs(), labels=labels).loss.backward()
    torch.testing.assert_close(
        plain.bert.embeddings.word_embeddings.weight.grad, checkpointed.bert.embeddings.word_embeddings.weight.grad
    )


def test_resize_token_embeddings_keeps_the_head_tied():
    model = NotesBertForMaskedLM(NotesBertConfig(**TINY))
    model.resize_token_embeddings(120)
    assert model.config.vocab_size == 120
    assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    assert model.cls.predictions.bias.shape == (120,)
    ids = torch.tensor([[1, 119, 5]])
    assert model(input_ids=ids, labels=ids).logits.shape == (1, 3, 120)


@pytest.mark.parametrize(
    "num_labels,labels,problem_type",
    [
        (1, torch.tensor([0.5, -1.0, 2.0]), "regression"),
        (3, torch.tensor([0, 2, 1]), "single_label_classification"),
        (3, torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), "multi_label_classification"),
    ],
)
def test_sequence_classification_problem_types(num_labels, labels, problem_type):
    model = NotesBertForSequenceClassification(NotesBertConfig(**TINY, num_labels=num_labels))
    out = model(**inputs(), labels=labels)
    assert model.config.problem_type == problem_type
    assert out.logits.shape == (3, num_labels) and out.loss.ndim == 0 and torch.isfinite(out.loss)
    out.loss.backward()


def test_pretraining_loss_is_mlm_plus_nsp():
    model = NotesBertForPreTraining(NotesBertConfig(**TINY)).eval()
    batch = inputs()
    labels = torch.full_like(batch["input_ids"], -100)
    labels[:, 2] = batch["input_ids"][:, 2]
    nsp = torch.tensor([0, 1, 0])
    both = model(**batch, labels=labels, next_sentence_label=nsp).loss
    mlm = model(**batch, labels=labels).loss
    only_nsp = model(**batch, next_sentence_label=nsp).loss
    torch.testing.assert_close(both, mlm + only_nsp)


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("hidden_size", 30, "divisible"),
        ("num_hidden_layers", 0, "num_hidden_layers"),
        ("vocab_size", -3, "vocab_size"),
        ("hidden_dropout_prob", 1.0, "hidden_dropout_prob"),
        ("attention_probs_dropout_prob", -0.1, "attention_probs_dropout_prob"),
        ("hidden_act", "swishy", "hidden_act"),
        ("intermediate_size", "big", "intermediate_size"),
        ("pad_token_id", 500, "pad_token_id"),
    ],
)
def test_config_validation_names_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        NotesBertConfig(**{**TINY, field: value})


def test_exports():
    for name in ("NotesBertConfig", "NotesBertModel", "NotesBertTokenizer", "convert_transformers_bert", "load_preset"):
        assert hasattr(hf_nlpnotes, name)


@pytest.mark.parametrize(
    "ours_class,reference_class",
    [(NotesBertForMaskedLM, transformers.BertForMaskedLM), (NotesBertForPreTraining, transformers.BertForPreTraining)],
)
def test_losses_and_gradients_match_transformers(ours_class, reference_class):
    """Our MLM loss sends only the masked rows through the decoder for backward; value and gradients must not change."""
    config = dict(TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    ours = ours_class(NotesBertConfig(**config))
    reference = reference_class(transformers.BertConfig(**config))
    reference.load_state_dict(ours.state_dict())
    batch = inputs()
    labels = torch.full_like(batch["input_ids"], -100)
    labels[:, ::3] = batch["input_ids"][:, ::3]
    extra = {"next_sentence_label": torch.tensor([0, 1, 1])} if ours_class is NotesBertForPreTraining else {}
    ours_loss = ours(**batch, labels=labels, **extra).loss
    reference_loss = reference(**batch, labels=labels, **extra).loss
    torch.testing.assert_close(ours_loss, reference_loss, atol=1e-6, rtol=1e-6)
    ours_loss.backward()
    reference_loss.backward()
    for (name, a), (_, b) in zip(ours.named_parameters(), reference.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-6, rtol=1e-5, msg=name)
