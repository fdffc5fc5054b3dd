"""WordPiece tokenizer for hf_nlpnotes' BERT, on the `tokenizers` library.

Same normalisation and pre-tokenisation as the original BERT (clean text, CJK characters split into single
characters, punctuation split, optional lower-casing and accent stripping), so that a standard `vocab.txt` gives
the ids transformers' `BertTokenizer` gives. Pairs are encoded as `[CLS] A [SEP] B [SEP]` with token type ids 0 / 1.
"""

import os
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
from tokenizers.models import WordPiece
from transformers.tokenization_utils_tokenizers import TokenizersBackend

from .notes_model_card import NotesModelCardMixin

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def read_vocab_file(vocab_file: str) -> dict[str, int]:
    """One token a line; the line number is the id (the standard BERT `vocab.txt`)."""
    if not os.path.isfile(vocab_file):
        raise FileNotFoundError(f"vocabulary file not found: {vocab_file}")
    with open(vocab_file, encoding="utf-8") as handle:
        tokens = [line.rstrip("\n") for line in handle]
    if not tokens:
        raise ValueError(f"vocabulary file {vocab_file} is empty")
    return {token: index for index, token in enumerate(tokens)}


class NotesBertTokenizer(NotesModelCardMixin, TokenizersBackend):
    """BERT's WordPiece tokenizer.

    Args:
        vocab: a token -> id dict, or the path of a `vocab.txt`; None gives a vocabulary of the special tokens only
            (for `train_new_from_iterator` / `train_from_texts`).
        do_lower_case: lower-case the input (uncased models).
        strip_accents: strip accents; None follows `do_lower_case`, as the original BERT does.
        tokenize_chinese_chars: put spaces around CJK characters so that each becomes a word.
    """

    vocab_files_names = {"vocab_file": "vocab.txt", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    model = WordPiece
    notes_model_type = "notes_bert"

    def __init__(
        self,
        vocab: str | dict[str, int] | None = None,
        vocab_file: str | None = None,
        do_lower_case: bool = True,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        **kwargs,
    ):
        if vocab is None and vocab_file is not None:
            vocab = vocab_file
        if isinstance(vocab, (str, os.PathLike)):
            vocab = read_vocab_file(str(vocab))
        if vocab is None:
            vocab = {str(token): index for index, token in enumerate((pad_token, unk_token, cls_token, sep_token, mask_token))}
        for role, token in (("unk_token", unk_token), ("cls_token", cls_token), ("sep_token", sep_token)):
            if str(token) not in vocab:
                raise ValueError(f"the vocabulary has no {role} {str(token)!r}")
        self.do_lower_case = do_lower_case
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents
        self._vocab = vocab

        tokenizer = Tokenizer(WordPiece(vocab, unk_token=str(unk_token), max_input_chars_per_word=100))
        tokenizer.normalizer = normalizers.BertNormalizer(
            clean_text=True,
            handle_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            lowercase=do_lower_case,
        )
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece(prefix="##")
        cls, sep = str(cls_token), str(sep_token)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0",
            pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])],
        )
        self._tokenizer = tokenizer
        kwargs.setdefault("model_max_length", 512)
        super().__init__(
            do_lower_case=do_lower_case,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            **kwargs,
        )

    @classmethod
    def train_from_texts(
        cls,
        texts: Iterable[str],
        vocab_size: int = 30522,
        min_frequency: int = 2,
        show_progress: bool = True,
        **tokenizer_kwargs,
    ) -> "NotesBertTokenizer":
        """Learn a WordPiece vocabulary of (at most) `vocab_size` tokens from an iterator of texts.

        The special tokens take ids 0-4 ([PAD], [UNK], [CLS], [SEP], [MASK]), as in BERT's own vocabularies.
        """
        if vocab_size <= len(SPECIAL_TOKENS):
            raise ValueError(f"vocab_size must exceed the {len(SPECIAL_TOKENS)} special tokens, got {vocab_size}")
        base = cls(**tokenizer_kwargs)
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIAL_TOKENS),
            continuing_subword_prefix="##",
            show_progress=show_progress,
        )
        backend = base._tokenizer
        backend.train_from_iterator(texts, trainer=trainer)
        return cls(vocab=backend.get_vocab(), **tokenizer_kwargs)

    def _save_pretrained(self, save_directory, file_names, legacy_format=None, filename_prefix=None):
        # tokenizer.json alone is enough for us; vocab.txt as well lets every BERT tokenizer (and the original
        # TensorFlow code) read the saved folder
        file_names = super()._save_pretrained(save_directory, file_names, legacy_format, filename_prefix)
        return file_names + self.save_vocabulary(str(save_directory), filename_prefix)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        """Writes `vocab.txt`: one token a line, in id order."""
        vocab = self._tokenizer.get_vocab()
        name = (filename_prefix + "-" if filename_prefix else "") + "vocab.txt"
        path = os.path.join(save_directory, name)
        with open(path, "w", encoding="utf-8") as handle:
            for token, _ in sorted(vocab.items(), key=lambda item: item[1]):
                handle.write(token + "\n")
        return (path,)


NotesBertTokenizer.register_for_auto_class("AutoTokenizer")

__all__ = ["NotesBertTokenizer", "read_vocab_file"]
