"""Configuration of hf_nlpnotes' BERT; fields and defaults as transformers' `BertConfig` (bert-base-uncased)."""

from transformers import PreTrainedConfig

from .configuration_notes_utils import (
    check_activation,
    check_divisible,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_token_id,
)


class NotesBertConfig(PreTrainedConfig):
    r"""BERT (Devlin et al., 2019). The defaults give bert-base; named sizes are presets:
    `hf_nlpnotes.load_preset("bert-mini")`.

    Args:
        vocab_size: size of the WordPiece vocabulary.
        hidden_size: width of every layer; must be divisible by `num_attention_heads`.
        num_hidden_layers: number of encoder layers.
        num_attention_heads: heads per self-attention layer.
        intermediate_size: width of the feed-forward layer.
        hidden_act: activation of the feed-forward layer and of the MLM transform (a `transformers` ACT2FN name).
        hidden_dropout_prob: dropout on embeddings and residual branches, in [0, 1).
        attention_probs_dropout_prob: dropout on the attention probabilities, in [0, 1).
        max_position_embeddings: longest sequence the learned position table covers.
        type_vocab_size: number of segment (token type) ids.
        initializer_range: std of the normal initialisation.
        layer_norm_eps: epsilon of every LayerNorm.
        pad_token_id: id of [PAD].
        classifier_dropout: dropout before the classification heads (None: `hidden_dropout_prob`).
    """

    model_type = "notes_bert"

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    classifier_dropout: float | None = None
    tie_word_embeddings: bool = True

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self.validate_fields()

    def validate_fields(self):
        check_positive_int(
            self,
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        )
        check_divisible(self, "hidden_size", "num_attention_heads")
        check_probability(self, "hidden_dropout_prob", "attention_probs_dropout_prob")
        check_probability(self, "classifier_dropout", allow_none=True)
        check_positive_float(self, "initializer_range", "layer_norm_eps")
        check_activation(self, "hidden_act")
        check_token_id(self, "pad_token_id")


__all__ = ["NotesBertConfig"]
