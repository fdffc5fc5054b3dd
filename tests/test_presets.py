import pytest

import hf_nlpnotes
from hf_nlpnotes import NotesBertConfig, list_presets, load_preset

BERT_SIZES = {
    "bert-tiny": (2, 128),
    "bert-mini": (4, 256),
    "bert-small": (4, 512),
    "bert-medium": (8, 512),
    "bert-base": (12, 768),
    "bert-large": (24, 1024),
}


@pytest.mark.parametrize("name,size", BERT_SIZES.items())
def test_bert_presets(name, size):
    config = load_preset(name)
    assert isinstance(config, NotesBertConfig)
    assert (config.num_hidden_layers, config.hidden_size) == size
    assert config.intermediate_size == 4 * config.hidden_size
    assert config.hidden_size // config.num_attention_heads == 64


def test_overrides_are_validated():
    assert load_preset("bert-mini", vocab_size=1000).vocab_size == 1000
    with pytest.raises(ValueError, match="num_attention_heads"):
        load_preset("bert-mini", num_attention_heads=7)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match="bert-mini"):
        load_preset("bert-gigantic")


def test_list_presets_by_model_type():
    assert set(BERT_SIZES) <= set(list_presets())
    assert set(list_presets("notes_bert")) == set(BERT_SIZES)
    assert hf_nlpnotes.list_presets is list_presets
