"""Subword (BPE) tokenizer for hf_nlpnotes' Transformer, on the `tokenizers` library.

One vocabulary for source and target (the paper shares it, which is what lets the embeddings and the output
projection be tied). Text is NFKC-normalised and split SentencePiece-style (spaces become "▁" and start each word),
so decoding restores the spacing exactly. Every sequence, source or target, ends with `</s>`; the decoder's `<s>`
start token is added by the model when it shifts the labels right. Ids 0-3 are `<pad>`, `<s>`, `</s>`, `<unk>`,
matching `NotesTransformerConfig`'s pad / bos (= decoder start) / eos defaults.
"""

import json
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
from tokenizers.models import BPE
from transformers.tokenization_utils_tokenizers import TokenizersBackend

from .notes_model_card import NotesModelCardMixin

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>")


def _check_not_empty(texts, name: str):
    """An empty source would leave the encoder nothing but `</s>` to attend to: refuse it with a clear message."""
    if texts is None:
        return
    batch = [texts] if isinstance(texts, str) else texts
    for index, text in enumerate(batch):
        if isinstance(text, str) and not text.strip():
            where = "" if isinstance(texts, str) else f" (item {index} of the batch)"
            raise ValueError(f"{name} is an empty string{where}; there is nothing to translate")


class NotesTransformerTokenizer(NotesModelCardMixin, TokenizersBackend):
    """BPE tokenizer shared by source and target. `tok(src, text_target=tgt)` returns `labels` as well.

    Args:
        vocab: token -> id dict (None: the special tokens only, a starting point for `train_from_texts`).
        merges: the BPE merges, as ("a", "b") pairs or "a b" strings.
    """

    vocab_files_names = {"tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]
    model = BPE
    notes_model_type = "notes_transformer"

    def __init__(
        self,
        vocab: dict[str, int] | None = None,
        merges: list | None = None,
        pad_token: str = "<pad>",
        bos_token: str = "<s>",
        eos_token: str = "</s>",
        unk_token: str = "<unk>",
        **kwargs,
    ):
        specials = [str(token) for token in (pad_token, bos_token, eos_token, unk_token)]
        if vocab is None:
            vocab = {token: index for index, token in enumerate(specials)}
        for token in specials:
            if token not in vocab:
                raise ValueError(f"the vocabulary has no special token {token!r}")
        merges = [tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge) for merge in (merges or [])]
        self._vocab = vocab
        self._merges = merges

        tokenizer = Tokenizer(BPE(vocab=vocab, merges=merges, unk_token=str(unk_token), fuse_unk=True))
        tokenizer.normalizer = normalizers.NFKC()
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        eos = str(eos_token)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"$A {eos}", pair=f"$A {eos} $B {eos}", special_tokens=[(eos, vocab[eos])]
        )
        self._tokenizer = tokenizer
        kwargs.setdefault("model_max_length", 1024)
        super().__init__(
            pad_token=pad_token, bos_token=bos_token, eos_token=eos_token, unk_token=unk_token, **kwargs
        )

    def __call__(self, text=None, text_pair=None, text_target=None, text_pair_target=None, **kwargs):
        _check_not_empty(text, "the source text")
        return super().__call__(
            text=text, text_pair=text_pair, text_target=text_target, text_pair_target=text_pair_target, **kwargs
        )

    @classmethod
    def train_from_texts(
        cls,
        texts: Iterable[str],
        vocab_size: int = 8000,
        min_frequency: int = 2,
        show_progress: bool = False,
        **tokenizer_kwargs,
    ) -> "NotesTransformerTokenizer":
        """Learn a BPE vocabulary of (at most) `vocab_size` tokens; for translation pass both sides of the pairs
        (see `train_from_pairs`). Ids 0-3 are the special tokens."""
        if vocab_size <= len(SPECIAL_TOKENS):
            raise ValueError(f"vocab_size must exceed the {len(SPECIAL_TOKENS)} special tokens, got {vocab_size}")
        backend = cls(**tokenizer_kwargs)._tokenizer
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIAL_TOKENS),
            show_progress=show_progress,
        )
        backend.train_from_iterator(texts, trainer=trainer)
        # read the learned vocab and merges back through the serialised model (the portable route)
        state = json.loads(backend.to_str())["model"]
        return cls(vocab=state["vocab"], merges=state["merges"], **tokenizer_kwargs)

    @classmethod
    def train_from_pairs(cls, pairs: Iterable[tuple[str, str]], **kwargs) -> "NotesTransformerTokenizer":
        """One shared vocabulary learned from both the source and the target side of (source, target) pairs."""
        return cls.train_from_texts((text for pair in pairs for text in pair), **kwargs)


NotesTransformerTokenizer.register_for_auto_class("AutoTokenizer")

__all__ = ["NotesTransformerTokenizer"]
