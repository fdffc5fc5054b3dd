"""Bad input fails early with a message naming what is wrong."""

import pytest
import torch

from hf_nlpnotes import NotesBertConfig, NotesBertForMaskedLM, NotesBertForSequenceClassification, NotesBertModel

TINY = dict(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20, max_position_embeddings=12)


@pytest.fixture
def model():
    return NotesBertModel(NotesBertConfig(**TINY)).eval()


def test_id_outside_the_vocabulary(model):
    with pytest.raises(ValueError, match=r"input_ids contains id 50.*vocab_size"):
        model(input_ids=torch.tensor([[1, 2, 50]]))
    with pytest.raises(ValueError, match=r"input_ids contains id -1"):
        model(input_ids=torch.tensor([[1, -1]]))


def test_sequence_longer_than_the_position_table(model):
    with pytest.raises(ValueError, match=r"sequence length 13 exceeds max_position_embeddings=12"):
        model(input_ids=torch.ones(1, 13, dtype=torch.long))


def test_attention_mask_shape_mismatch(model):
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 4\).*\(1, 5\)"):
        model(input_ids=torch.ones(1, 5, dtype=torch.long), attention_mask=torch.ones(1, 4, dtype=torch.long))


def test_token_type_ids_shape_and_range(model):
    ids = torch.ones(2, 5, dtype=torch.long)
    with pytest.raises(ValueError, match=r"token_type_ids has shape"):
        model(input_ids=ids, token_type_ids=torch.zeros(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"token_type_ids contains id 2.*type_vocab_size"):
        model(input_ids=ids, token_type_ids=torch.full((2, 5), 2))


def test_wrong_rank_and_missing_input(model):
    with pytest.raises(ValueError, match=r"\[batch, length\]"):
        model(input_ids=torch.ones(5, dtype=torch.long))
    with pytest.raises(ValueError, match="exactly one of input_ids or inputs_embeds"):
        model()


def test_labels_out_of_range():
    mlm = NotesBertForMaskedLM(NotesBertConfig(**TINY))
    ids = torch.ones(1, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"labels contains id 77"):
        mlm(input_ids=ids, labels=torch.tensor([[-100, 77, -100, 1]]))
    with pytest.raises(ValueError, match=r"labels has shape"):
        mlm(input_ids=ids, labels=torch.ones(1, 3, dtype=torch.long))
    classifier = NotesBertForSequenceClassification(NotesBertConfig(**TINY, num_labels=2))
    with pytest.raises(ValueError, match=r"labels contains id 3.*num_labels"):
        classifier(input_ids=ids, labels=torch.tensor([3]))
