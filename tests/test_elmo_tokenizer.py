"""NotesElmoTokenizer: the original character id scheme, the word vocabulary, padding, datasets/collators, save/load."""

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, DataCollatorWithPadding

import hf_nlpnotes  # noqa: F401  (registers the Auto classes)
from hf_nlpnotes import NotesElmoTokenizer

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "elmo-allennlp"

# the original scheme, +1 shift included: word begin 258+1, word end 259+1, padding 260+1
BOW, EOW, PAD = 259, 260, 261


def expected_word(byte_values):
    ids = [BOW] + [b + 1 for b in byte_values] + [EOW]
    return ids + [PAD] * (50 - len(ids))


@pytest.fixture
def tokenizer():
    return NotesElmoTokenizer.build_from_texts(["the cat sat on the mat", "the dog sat"])


def test_character_ids_of_known_words(tokenizer):
    assert tokenizer.word_to_char_ids("a") == expected_word([97])
    assert tokenizer.word_to_char_ids("Cat") == expected_word([67, 97, 116])
    # sentence boundaries: [BOW, 256 or 257, EOW, PAD...] + 1
    assert tokenizer.word_to_char_ids("<S>") == [BOW, 257, EOW] + [PAD] * 47
    assert tokenizer.word_to_char_ids("</S>") == [BOW, 258, EOW] + [PAD] * 47
    encoded = tokenizer("a Cat")
    assert encoded["input_ids"] == [tokenizer.word_to_char_ids(w) for w in ("<S>", "a", "Cat", "</S>")]
    assert encoded["attention_mask"] == [1, 1, 1, 1]


def test_long_words_are_truncated_to_48_bytes_and_non_ascii_is_bytes(tokenizer):
    long_word = "x" * 60
    assert tokenizer.word_to_char_ids(long_word) == [BOW] + [ord("x") + 1] * 48 + [EOW]
    emoji = "😀é"  # 4 + 2 UTF-8 bytes
    assert tokenizer.word_to_char_ids(emoji) == expected_word(list(emoji.encode("utf-8")))
    assert tokenizer.char_ids_to_word(tokenizer.word_to_char_ids(emoji)) == emoji


def test_boundaries_are_configurable_and_empty_sentences(tokenizer):
    without = NotesElmoTokenizer(add_sentence_boundaries=False)
    assert len(without("one two")["input_ids"]) == 2
    assert without("")["input_ids"] == []
    # an empty sentence with boundaries is just <S> </S>
    assert len(tokenizer("")["input_ids"]) == 2
    batch = without(["", "one word"], padding=True, return_tensors="pt")
    assert batch["input_ids"].shape == (2, 2, 50)
    assert batch["attention_mask"].tolist() == [[0, 0], [1, 1]]


def test_word_vocabulary_is_frequency_ordered_with_specials(tokenizer):
    vocab = tokenizer.get_vocab()
    assert [w for w, _ in sorted(vocab.items(), key=lambda x: x[1])][:6] == ["<S>", "</S>", "<UNK>", "the", "sat", "cat"]
    labels = tokenizer("the unknownword", return_lm_labels=True)["labels"]
    assert labels == [vocab["<S>"], vocab["the"], vocab["<UNK>"], vocab["</S>"]]
    assert tokenizer.decode(labels) == "<S> the <UNK> </S>"
    assert tokenizer.decode(labels, skip_special_tokens=True) == "the <UNK>"
    assert NotesElmoTokenizer.build_from_texts(["b b a c"], max_vocab_size=4).vocab_size == 4
    with pytest.raises(ValueError, match="lacks the special word"):
        NotesElmoTokenizer(vocab=["a", "b"])


def test_fixture_vocab_file():
    if not FIXTURE.is_dir():
        pytest.skip(f"the ELMo fixture is missing: {FIXTURE}")
    tokenizer = NotesElmoTokenizer(vocab_file=str(FIXTURE / "vocab_test.txt"))
    words = (FIXTURE / "vocab_test.txt").read_text(encoding="utf-8").split("\n")
    assert tokenizer.vocab_size == len([w for w in words if w.strip()])
    assert tokenizer.convert_ids_to_tokens(tokenizer.vocab_size - 1) == words[-1].strip()
    assert tokenizer.convert_tokens_to_ids("<S>") == 20  # line 21 of the file


def test_padding_tensors_and_labels(tokenizer):
    batch = tokenizer(["the cat", "the dog sat on the mat"], padding=True, return_tensors="pt", return_lm_labels=True)
    assert batch["input_ids"].shape == (2, 8, 50)
    assert batch["input_ids"].dtype == torch.long
    assert batch["attention_mask"][0].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert (batch["input_ids"][0, 4:] == 0).all()
    assert batch["labels"][0, 4:].tolist() == [-100] * 4
    single = tokenizer("the cat", return_tensors="pt")
    assert single["input_ids"].shape == (1, 4, 50)
    assert tokenizer.encode("the cat", return_tensors="pt").shape == (1, 4, 50)
    truncated = tokenizer("a b c d e f", truncation=True, max_length=4)
    assert tokenizer.decode(truncated["input_ids"]) == "<S> a b </S>"


def test_word_labels_align_with_boundaries(tokenizer):
    encoded = tokenizer([["The", "cat"], ["Hi"]], is_split_into_words=True, word_labels=[[3, 4], [5]], padding=True)
    assert encoded["labels"] == [[-100, 3, 4, -100], [-100, 5, -100, -100]]
    with pytest.raises(ValueError, match="2 word labels for 1 words"):
        tokenizer(["Hi"], is_split_into_words=True, word_labels=[1, 2])


def test_datasets_map_and_collator(tokenizer):
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_dict({"text": ["the cat sat", "a dog", "on the mat today ok"], "label": [0, 1, 0]})
    data = data.map(lambda batch: tokenizer(batch["text"]), batched=True, remove_columns=["text"])
    collator = DataCollatorWithPadding(tokenizer)
    batch = collator([data[i] for i in range(3)])
    assert batch["input_ids"].shape == (3, 7, 50)
    assert batch["attention_mask"].sum(1).tolist() == [5, 4, 7]
    assert batch["labels"].tolist() == [0, 1, 0]


def test_save_load_round_trip_and_auto(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(loaded, NotesElmoTokenizer)
    assert loaded.get_vocab() == tokenizer.get_vocab()
    assert loaded("the mat 😀", return_lm_labels=True) == tokenizer("the mat 😀", return_lm_labels=True)
    no_boundaries = NotesElmoTokenizer(add_sentence_boundaries=False)
    no_boundaries.save_pretrained(tmp_path / "nb")
    assert AutoTokenizer.from_pretrained(tmp_path / "nb").add_sentence_boundaries is False


def test_split_punctuation_for_raw_text(tmp_path):
    tokenizer = NotesElmoTokenizer.build_from_texts(["Fine, it's done."], split_punctuation=True)
    assert tokenizer.tokenize("Fine, it's done.") == ["Fine", ",", "it's", "done", "."]
    assert set(tokenizer.get_vocab()) == {"<S>", "</S>", "<UNK>", "Fine", ",", "it's", "done", "."}
    tokenizer.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path)("done.")["input_ids"] == tokenizer("done.")["input_ids"]
    assert len(NotesElmoTokenizer()("done.")["input_ids"]) == 3  # whitespace only by default, as the original
