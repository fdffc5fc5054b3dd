"""WordPiece tokenizer: parity with transformers' BertTokenizer on the same vocab.txt, training, save/load."""

import shutil

import pytest
import transformers
from transformers import AutoTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

from hf_nlpnotes import NotesBertConfig, NotesBertTokenizer

CORPUS = [
    "In the beginning, God created the heavens and the earth.",
    "The earth was formless and empty. Darkness was on the surface of the deep!",
    "Café naïve résumé — déjà vu; über-cool (parenthesised) words, numbers 1234 and 3.14.",
    "混合中文字符 and English; 日本語のテキストも。",
    "Don't stop: it's state-of-the-art, isn't it?",
] * 20

TEXTS = [
    "In the beginning God created the HEAVENS.",
    "Café naïve résumé déjà-vu",
    "中文字符测试 mixed with English",
    "",
    "   ",
    "unbelievably unknownwordzzz ##hash [MASK] token",
    "Привет, мир! Ελληνικά 😀",
]


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    tokenizer = NotesBertTokenizer.train_from_texts(CORPUS, vocab_size=300, min_frequency=1, show_progress=False)
    folder = tmp_path_factory.mktemp("vocab")
    tokenizer.save_pretrained(folder)
    return folder / "vocab.txt"


@pytest.mark.parametrize("do_lower_case", [True, False])
def test_same_ids_as_transformers_bert_tokenizer(vocab_file, do_lower_case, tmp_path):
    ours = NotesBertTokenizer(vocab=str(vocab_file), do_lower_case=do_lower_case)
    only_vocab = tmp_path / "only-vocab"
    only_vocab.mkdir()
    shutil.copy(vocab_file, only_vocab / "vocab.txt")
    references = [
        transformers.BertTokenizer.from_pretrained(only_vocab, do_lower_case=do_lower_case),
        BertTokenizerLegacy(vocab_file=str(vocab_file), do_lower_case=do_lower_case),  # the pure-Python original
    ]
    for reference in references:
        for text in TEXTS:
            assert ours(text)["input_ids"] == reference(text)["input_ids"], (type(reference).__name__, text)
        pair_ours = ours(TEXTS[0], TEXTS[1], return_token_type_ids=True)
        pair_reference = reference(TEXTS[0], TEXTS[1], return_token_type_ids=True)
        assert pair_ours["input_ids"] == pair_reference["input_ids"]
        assert pair_ours["token_type_ids"] == pair_reference["token_type_ids"]
    assert set(ours(TEXTS[0], TEXTS[1])["token_type_ids"]) == {0, 1}
    if do_lower_case:  # the vocabulary was learnt lower-cased: it really covers the text
        assert ours.unk_token_id not in ours(TEXTS[0])["input_ids"]


def test_pair_template_and_special_ids(vocab_file):
    tokenizer = NotesBertTokenizer(vocab=str(vocab_file))
    encoded = tokenizer("the earth", "the deep")
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2 and tokens[-1] == "[SEP]"
    first_sep = tokens.index("[SEP]")
    assert encoded["token_type_ids"] == [0] * (first_sep + 1) + [1] * (len(tokens) - first_sep - 1)
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id) == (0, 1, 2)
    assert (tokenizer.sep_token_id, tokenizer.mask_token_id) == (3, 4)


def test_cjk_split_and_accents(vocab_file):
    tokenizer = NotesBertTokenizer(vocab=str(vocab_file))
    assert tokenizer.tokenize("中文")[:2] == ["中", "文"] or tokenizer.tokenize("中文") == ["[UNK]", "[UNK]"]
    assert tokenizer.tokenize("Café") == tokenizer.tokenize("cafe")  # uncased: lower-cased and accents stripped
    cased = NotesBertTokenizer(vocab=str(vocab_file), do_lower_case=False)
    assert cased.tokenize("Café") != tokenizer.tokenize("Café")


def test_truncation_padding_and_batch(vocab_file):
    tokenizer = NotesBertTokenizer(vocab=str(vocab_file))
    long_text = " ".join(["earth"] * 5000)
    encoded = tokenizer(long_text, truncation=True, max_length=32)
    assert len(encoded["input_ids"]) == 32 and encoded["input_ids"][-1] == tokenizer.sep_token_id
    assert len(tokenizer(long_text, truncation=True)["input_ids"]) == 512
    batch = tokenizer(["the earth", "the deep was dark and empty"], padding=True, return_tensors="pt")
    assert batch["input_ids"].shape == batch["attention_mask"].shape == batch["token_type_ids"].shape
    assert batch["attention_mask"][0].sum() < batch["attention_mask"][1].sum()
    assert batch["input_ids"][0, -1] == tokenizer.pad_token_id


def test_save_load_round_trip_and_auto(vocab_file, tmp_path):
    tokenizer = NotesBertTokenizer(vocab=str(vocab_file), do_lower_case=False)
    tokenizer.save_pretrained(tmp_path)
    NotesBertConfig(vocab_size=len(tokenizer)).save_pretrained(tmp_path)
    assert (tmp_path / "vocab.txt").read_text() == vocab_file.read_text()
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(reloaded) is NotesBertTokenizer
    assert reloaded.do_lower_case is False
    for text in TEXTS:
        assert reloaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert reloaded.decode(tokenizer("the earth was empty")["input_ids"], skip_special_tokens=True) == "the earth was empty"


def test_training_keeps_special_ids_first():
    tokenizer = NotesBertTokenizer.train_from_texts(CORPUS, vocab_size=200, min_frequency=1, show_progress=False)
    vocab = tokenizer.get_vocab()
    assert [vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")] == [0, 1, 2, 3, 4]
    assert 50 < len(vocab) <= 200
    assert tokenizer.unk_token_id not in tokenizer("the earth")["input_ids"]


def test_missing_vocab_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocabulary file not found"):
        NotesBertTokenizer(vocab=str(tmp_path / "nope.txt"))
    (tmp_path / "bad.txt").write_text("hello\nworld\n")
    with pytest.raises(ValueError, match="unk_token"):
        NotesBertTokenizer(vocab=str(tmp_path / "bad.txt"))
