"""NotesTransformerTokenizer: training on pairs, text_target, special tokens, decoding and save/load."""

import pytest
from transformers import AutoTokenizer

import hf_nlpnotes  # noqa: F401
from hf_nlpnotes import NotesTransformerConfig, NotesTransformerTokenizer

PAIRS = [
    ("In the beginning God created the heavens and the earth.", "En el principio creó Dios los cielos y la tierra."),
    ("And God said, Let there be light: and there was light.", "Y dijo Dios: Sea la luz: y fué la luz."),
    ("And God saw the light, that it was good.", "Y vió Dios que la luz era buena."),
    ("The earth was formless and empty.", "Y la tierra estaba desordenada y vacía."),
] * 5


@pytest.fixture(scope="module")
def tokenizer():
    return NotesTransformerTokenizer.train_from_pairs(PAIRS, vocab_size=300, min_frequency=1)


def test_special_tokens_match_the_config_defaults(tokenizer):
    config = NotesTransformerConfig()
    assert tokenizer.pad_token_id == config.pad_token_id == 0
    assert tokenizer.bos_token_id == config.bos_token_id == config.decoder_start_token_id == 1
    assert tokenizer.eos_token_id == config.eos_token_id == 2
    assert tokenizer.unk_token_id == 3


def test_shared_vocabulary_covers_both_languages(tokenizer):
    vocab = tokenizer.get_vocab()
    assert len(tokenizer) <= 300
    assert "▁God" in vocab and "▁Dios" in vocab


def test_text_target_gives_labels_ending_with_eos(tokenizer):
    source, target = PAIRS[0]
    encoded = tokenizer(source, text_target=target)
    assert set(encoded) == {"input_ids", "attention_mask", "labels"}
    assert encoded["input_ids"][-1] == tokenizer.eos_token_id
    assert encoded["labels"][-1] == tokenizer.eos_token_id
    assert encoded["labels"] == tokenizer(target)["input_ids"]
    assert tokenizer.decode(encoded["labels"], skip_special_tokens=True) == target
    assert tokenizer.decode(encoded["input_ids"], skip_special_tokens=True) == source


def test_batch_padding_and_unknown_characters(tokenizer):
    batch = tokenizer(["And God said.", "In the beginning God created the heavens."], padding=True, return_tensors="pt")
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert batch["input_ids"][0, -1] == tokenizer.pad_token_id and batch["attention_mask"][0, -1] == 0
    assert tokenizer.unk_token_id in tokenizer("日本")["input_ids"]


def test_save_and_reload_give_identical_ids(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(reloaded, NotesTransformerTokenizer)
    texts = [text for pair in PAIRS[:4] for text in pair] + ["Unseen words: Nebuchadnezzar, Jerusalén."]
    assert reloaded(texts)["input_ids"] == tokenizer(texts)["input_ids"]
    assert reloaded.get_vocab() == tokenizer.get_vocab()


def test_empty_source_is_refused(tokenizer):
    with pytest.raises(ValueError, match="empty"):
        tokenizer("")
    with pytest.raises(ValueError, match="item 1"):
        tokenizer(["Let there be light.", "   "])


def test_training_needs_room_for_the_special_tokens():
    with pytest.raises(ValueError, match="vocab_size"):
        NotesTransformerTokenizer.train_from_pairs(PAIRS, vocab_size=4)
