"""ELMo's character tokenizer: every word becomes `max_characters_per_token` (50) character ids.

The original id scheme (bilm-tf / AllenNLP `ELMoCharacterMapper`): the UTF-8 bytes of the word are ids 0-255,
sentence begin 256, sentence end 257, word begin 258, word end 259, padding 260, and every id is shifted by +1 so that
0 means a padded word. A word is `[BOW, its first 48 bytes, EOW, PAD, ...]` (longer words are truncated, not refused);
`<S>` and `</S>` are `[BOW, 256 or 257, EOW, PAD, ...]`, added around every sentence unless
`add_sentence_boundaries=False`.

`input_ids` are 3-D ([batch, words, 50]) with an `attention_mask` over words. Words are split on whitespace (the
original was trained on tokenised text). A word vocabulary (`<S>`, `</S>`, `<UNK>`, then by frequency), built from a
corpus or read from a bilm-tf `vocab.txt`, gives the language-model labels (`return_lm_labels=True`) and `decode`.
"""

import os
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
import torch
from transformers.tokenization_python import PythonBackend
from transformers.tokenization_utils_base import BatchEncoding

from .notes_model_card import NotesModelCardMixin

BEGIN_SENTENCE_CHAR, END_SENTENCE_CHAR = 256, 257
BEGIN_WORD_CHAR, END_WORD_CHAR, PADDING_CHAR = 258, 259, 260
CHAR_ID_SHIFT = 1  # so that 0 is free to mean "no word here"
# split_punctuation=True: words (with inner apostrophes, "don't") and single punctuation marks
_WORD_OR_PUNCTUATION = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def read_word_vocab_file(vocab_file: str) -> list[str]:
    """One word a line, as bilm-tf's vocabulary files; the line number is the id."""
    if not os.path.isfile(vocab_file):
        raise FileNotFoundError(f"vocabulary file not found: {vocab_file}")
    with open(vocab_file, encoding="utf-8") as handle:
        words = [line.rstrip("\n").strip() for line in handle]
    words = [word for word in words if word]
    if not words:
        raise ValueError(f"vocabulary file {vocab_file} is empty")
    return words


class NotesElmoTokenizer(NotesModelCardMixin, PythonBackend):
    """Words → ELMo character ids, plus a word vocabulary for the biLM labels.

    Args:
        vocab_file / vocab: the word vocabulary (a `vocab.txt` path, or a list of words, or a word → id dict);
            None gives only the three special words (character ids need no vocabulary).
        add_sentence_boundaries: wrap every sentence in `<S>` ... `</S>` (as the original biLM was run).
        max_characters_per_token: characters per word, markers included (the model's `max_characters_per_token`).
        split_punctuation: split punctuation off the words ("fine." → "fine", ".") for raw, untokenised text;
            off by default, as the original expects tokenised text split on whitespace.
    """

    vocab_files_names = {"vocab_file": "vocab.txt"}
    model_input_names = ["input_ids", "attention_mask"]
    notes_model_type = "notes_elmo"

    def __init__(
        self,
        vocab_file: str | None = None,
        vocab: list[str] | dict[str, int] | None = None,
        add_sentence_boundaries: bool = True,
        max_characters_per_token: int = 50,
        split_punctuation: bool = False,
        bos_token: str = "<S>",
        eos_token: str = "</S>",
        unk_token: str = "<UNK>",
        **kwargs,
    ):
        if max_characters_per_token < 3:
            raise ValueError(f"max_characters_per_token must be at least 3, got {max_characters_per_token}")
        bos, eos, unk = str(bos_token), str(eos_token), str(unk_token)
        if vocab is None and vocab_file is not None:
            vocab = read_word_vocab_file(vocab_file)
        if vocab is None:
            vocab = [bos, eos, unk]
        if isinstance(vocab, dict):
            words = [word for word, _ in sorted(vocab.items(), key=lambda item: item[1])]
        else:
            words = list(vocab)
        missing = [token for token in (bos, eos, unk) if token not in words]
        if missing:
            raise ValueError(f"the word vocabulary lacks the special word(s) {missing}; ELMo vocabularies hold {bos}, {eos}, {unk}")
        self._id_to_word = words
        self._word_to_id = {word: index for index, word in enumerate(words)}
        if len(self._word_to_id) != len(words):
            duplicates = sorted(word for word, count in Counter(words).items() if count > 1)
            raise ValueError(f"the word vocabulary lists these words more than once: {duplicates[:10]}")
        self.add_sentence_boundaries = add_sentence_boundaries
        self.max_characters_per_token = max_characters_per_token
        self.split_punctuation = split_punctuation
        self._special_char_ids = {
            bos: self._boundary_char_ids(BEGIN_SENTENCE_CHAR),
            eos: self._boundary_char_ids(END_SENTENCE_CHAR),
        }
        super().__init__(
            add_sentence_boundaries=add_sentence_boundaries,
            max_characters_per_token=max_characters_per_token,
            split_punctuation=split_punctuation,
            bos_token=bos_token,
            eos_token=eos_token,
            unk_token=unk_token,
            **kwargs,
        )

    # ---- the word vocabulary -------------------------------------------------------------------------------------
    @classmethod
    def build_from_texts(
        cls, texts: Iterable[str], max_vocab_size: int | None = None, min_frequency: int = 1, **kwargs
    ) -> "NotesElmoTokenizer":
        """A tokenizer whose word vocabulary is `<S>`, `</S>`, `<UNK>`, then the words of `texts` by decreasing
        frequency (ties in order of first appearance), at most `max_vocab_size` words in all."""
        splitter = cls(**kwargs)  # the same word splitting as the tokenizer being built
        counts = Counter()
        for text in texts:
            counts.update(splitter._words(text, is_split_into_words=False))
        specials = [str(kwargs.get(name, default)) for name, default in (("bos_token", "<S>"), ("eos_token", "</S>"), ("unk_token", "<UNK>"))]
        words = specials + [w for w, c in counts.most_common() if c >= min_frequency and w not in specials]
        if max_vocab_size is not None:
            if max_vocab_size < len(specials):
                raise ValueError(f"max_vocab_size must hold at least the {len(specials)} special words, got {max_vocab_size}")
            words = words[:max_vocab_size]
        return cls(vocab=words, **kwargs)

    @property
    def vocab_size(self) -> int:
        return len(self._id_to_word)

    def get_vocab(self) -> dict[str, int]:
        return dict(self._word_to_id)

    def _tokenize(self, text, **kwargs):
        return self._words(text, is_split_into_words=False)

    def _convert_token_to_id(self, token):
        return self._word_to_id.get(token, self._word_to_id[str(self.unk_token)])

    def _convert_id_to_token(self, index):
        if not 0 <= index < len(self._id_to_word):
            raise ValueError(f"word id {index} is outside the vocabulary [0, {len(self._id_to_word)})")
        return self._id_to_word[index]

    def convert_tokens_to_string(self, tokens):
        return " ".join(tokens)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        path = os.path.join(save_directory, (filename_prefix + "-" if filename_prefix else "") + "vocab.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(word + "\n" for word in self._id_to_word)
        return (path,)

    # ---- characters ----------------------------------------------------------------------------------------------
    def _boundary_char_ids(self, character: int) -> list[int]:
        ids = [PADDING_CHAR] * self.max_characters_per_token
        ids[:3] = [BEGIN_WORD_CHAR, character, END_WORD_CHAR]
        return [i + CHAR_ID_SHIFT for i in ids]

    def word_to_char_ids(self, word: str) -> list[int]:
        """The `max_characters_per_token` character ids of one word (bytes beyond the room are dropped)."""
        if word in self._special_char_ids:
            return list(self._special_char_ids[word])
        encoded = word.encode("utf-8", "ignore")[: self.max_characters_per_token - 2]
        ids = [PADDING_CHAR] * self.max_characters_per_token
        ids[0] = BEGIN_WORD_CHAR
        ids[1 : 1 + len(encoded)] = encoded
        ids[1 + len(encoded)] = END_WORD_CHAR
        return [i + CHAR_ID_SHIFT for i in ids]

    def char_ids_to_word(self, char_ids) -> str:
        """The inverse of `word_to_char_ids` (a truncated word comes back truncated); "" for a padded word."""
        ids = [int(i) - CHAR_ID_SHIFT for i in char_ids]
        if all(i == -CHAR_ID_SHIFT for i in ids):
            return ""
        if len(ids) >= 2 and ids[1] == BEGIN_SENTENCE_CHAR:
            return str(self.bos_token)
        if len(ids) >= 2 and ids[1] == END_SENTENCE_CHAR:
            return str(self.eos_token)
        data = bytes(i for i in ids if 0 <= i < 256)
        return data.decode("utf-8", errors="replace")

    def _words(self, text, is_split_into_words: bool) -> list[str]:
        if is_split_into_words:
            if not isinstance(text, (list, tuple)) or not all(isinstance(w, str) for w in text):
                raise ValueError(f"with is_split_into_words=True each sentence must be a list of words, got {text!r:.80}")
            return [w for w in text if w.strip()]
        if not isinstance(text, str):
            raise ValueError(f"expected a sentence (str), got {type(text).__name__}: {text!r:.80}")
        if self.split_punctuation:
            return _WORD_OR_PUNCTUATION.findall(text)
        return text.split()

    # ---- encoding ------------------------------------------------------------------------------------------------
    def _encode_one(self, text, is_split_into_words, max_length, truncation, return_lm_labels, word_labels):
        words = self._words(text, is_split_into_words)
        if word_labels is not None and len(word_labels) != len(words):
            raise ValueError(f"got {len(word_labels)} word labels for {len(words)} words: {words[:10]}")
        room = None
        if truncation and max_length is not None:
            room = max_length - (2 if self.add_sentence_boundaries else 0)
            if room < 0:
                raise ValueError(f"max_length={max_length} leaves no room for the sentence boundaries")
            words = words[:room]
            word_labels = word_labels[:room] if word_labels is not None else None
        if self.add_sentence_boundaries:
            words = [str(self.bos_token), *words, str(self.eos_token)]
            if word_labels is not None:
                word_labels = [-100, *word_labels, -100]
        encoded = {"input_ids": [self.word_to_char_ids(word) for word in words], "attention_mask": [1] * len(words)}
        if return_lm_labels:
            encoded["labels"] = [self._convert_token_to_id(word) for word in words]
        elif word_labels is not None:
            encoded["labels"] = list(word_labels)
        return encoded

    def _is_batch(self, text, is_split_into_words: bool) -> bool:
        if is_split_into_words:
            return isinstance(text, (list, tuple)) and len(text) > 0 and isinstance(text[0], (list, tuple))
        return isinstance(text, (list, tuple))

    def __call__(
        self,
        text=None,
        is_split_into_words: bool = False,
        padding: bool | str = False,
        truncation: bool | str = False,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_tensors: str | None = None,
        return_attention_mask: bool | None = None,
        return_lm_labels: bool = False,
        word_labels=None,
        **kwargs,
    ) -> BatchEncoding:
        """text: a sentence, a list of sentences, or with `is_split_into_words=True` a list of words / of word lists.

        `return_lm_labels=True` adds `labels`: the word-vocabulary ids of the words (for `NotesElmoForBidirectionalLM`).
        `word_labels` (one label per word, or per sentence a list of them) adds `labels` aligned with the words, -100
        on the sentence boundaries (for `NotesElmoForTokenClassification`).
        """
        if text is None:
            raise ValueError("NotesElmoTokenizer needs `text`")
        if kwargs.get("text_pair") is not None:
            raise ValueError("NotesElmoTokenizer encodes single sentences; it has no sentence pairs")
        if return_lm_labels and word_labels is not None:
            raise ValueError("pass either return_lm_labels=True or word_labels, not both (both fill `labels`)")
        batched = self._is_batch(text, is_split_into_words)
        texts = list(text) if batched else [text]
        labels = list(word_labels) if (word_labels is not None and batched) else [word_labels] * len(texts)
        if word_labels is not None and len(labels) != len(texts):
            raise ValueError(f"got word labels for {len(labels)} sentences but {len(texts)} sentences")
        rows = [
            self._encode_one(t, is_split_into_words, max_length, truncation, return_lm_labels, l)
            for t, l in zip(texts, labels)
        ]
        if return_attention_mask is False:
            for row in rows:
                row.pop("attention_mask")
        if padding or return_tensors is not None:
            if not padding and len({len(r["input_ids"]) for r in rows}) > 1:
                raise ValueError("sentences of different lengths need padding=True to become one tensor")
            return self.pad(
                rows,
                padding=padding or True,
                max_length=max_length,
                pad_to_multiple_of=pad_to_multiple_of,
                return_attention_mask=return_attention_mask,
                return_tensors=return_tensors,
                _unbatch=not batched,
            )
        if batched:
            return BatchEncoding({key: [row[key] for row in rows] for key in rows[0]})
        return BatchEncoding(rows[0])

    def encode(self, text, is_split_into_words: bool = False, return_tensors: str | None = None, **kwargs):
        """The character ids of one sentence: [words, max_characters_per_token] (a list, or a tensor with "pt")."""
        ids = self._encode_one(text, is_split_into_words, kwargs.get("max_length"), kwargs.get("truncation", False), False, None)[
            "input_ids"
        ]
        if return_tensors == "pt":
            return torch.tensor([ids], dtype=torch.long).view(1, len(ids), self.max_characters_per_token)
        if return_tensors == "np":
            return np.array([ids], dtype=np.int64).reshape(1, len(ids), self.max_characters_per_token)
        return ids

    def pad(
        self,
        encoded_inputs,
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
        verbose: bool = True,
        _unbatch: bool = False,
        **kwargs,
    ) -> BatchEncoding:
        """Pads a batch of encoded sentences (a list of dicts, as collators pass them, or a dict of lists) to the
        longest (padding=True / "longest") or to `max_length` ("max_length") number of words: all-zero character rows,
        attention mask 0, labels -100. Other entries (e.g. a sentence label) are passed through."""
        if isinstance(encoded_inputs, (dict, BatchEncoding)):
            first = encoded_inputs["input_ids"]
            if first and isinstance(first[0], (list, tuple)) and first[0] and isinstance(first[0][0], int):
                encoded_inputs = [encoded_inputs]  # one sentence
                _unbatch = True
            else:
                keys = list(encoded_inputs.keys())
                encoded_inputs = [dict(zip(keys, values)) for values in zip(*(encoded_inputs[k] for k in keys))]
        # tensors (e.g. from a dataset with format "torch") become lists first
        rows = [{key: value.tolist() if hasattr(value, "tolist") else value for key, value in row.items()} for row in encoded_inputs]
        if not rows:
            raise ValueError("nothing to pad: the batch is empty")
        lengths = [len(row["input_ids"]) for row in rows]
        if padding == "max_length":
            if max_length is None:
                raise ValueError("padding='max_length' needs max_length")
            target = max_length
        elif padding in (False, "do_not_pad"):
            target = None
        else:
            target = max(lengths)
        if target is not None and pad_to_multiple_of:
            target = -(-target // pad_to_multiple_of) * pad_to_multiple_of
        width = self.max_characters_per_token
        for row, length in zip(rows, lengths):
            bad = [len(word) for word in row["input_ids"] if len(word) != width]
            if bad:
                raise ValueError(f"every word needs {width} character ids, got a word with {bad[0]}")
            missing = max(target - length, 0) if target is not None else 0
            row["input_ids"] = [list(word) for word in row["input_ids"]] + [[0] * width] * missing
            if return_attention_mask is False:
                row.pop("attention_mask", None)
            else:
                row["attention_mask"] = list(row.get("attention_mask", [1] * length)) + [0] * missing
            if isinstance(row.get("labels"), list):  # per-word labels; a sentence label is left alone
                row["labels"] = row["labels"] + [-100] * missing
        batch = {key: [row[key] for row in rows] for key in rows[0]}
        if return_tensors is None:
            return BatchEncoding({key: value[0] for key, value in batch.items()} if _unbatch else batch)
        # tensors always carry the batch dimension, a single sentence included
        if return_tensors not in ("pt", "np"):
            raise ValueError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}")
        make = torch.tensor if return_tensors == "pt" else np.array
        tensors = {key: make(value) for key, value in batch.items()}
        # sentences without any word give [batch, 0]: restore the character dimension
        tensors["input_ids"] = tensors["input_ids"].reshape(len(rows), -1, width)
        return BatchEncoding(tensors)

    # ---- decoding ------------------------------------------------------------------------------------------------
    def decode(self, token_ids, skip_special_tokens: bool = False, **kwargs) -> str:
        """Word-vocabulary ids (e.g. labels or predictions) → text; character ids of one sentence
        ([words, characters]) → its words."""
        if hasattr(token_ids, "tolist"):
            token_ids = token_ids.tolist()
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        specials = {str(self.bos_token), str(self.eos_token)}
        if token_ids and isinstance(token_ids[0], (list, tuple)):
            words = [self.char_ids_to_word(word) for word in token_ids]
            words = [word for word in words if word]
        else:
            words = [self._convert_id_to_token(int(i)) for i in token_ids if int(i) != -100]
        if skip_special_tokens:
            words = [word for word in words if word not in specials]
        return " ".join(words)

    def batch_decode(self, sequences, skip_special_tokens: bool = False, **kwargs) -> list[str]:
        return [self.decode(sequence, skip_special_tokens=skip_special_tokens) for sequence in sequences]


NotesElmoTokenizer.register_for_auto_class("AutoTokenizer")

__all__ = ["NotesElmoTokenizer", "read_word_vocab_file"]
