"""Configuration of hf_nlpnotes' Transformer (Vaswani et al., 2017, "Attention Is All You Need").

Field names follow transformers' BART / Marian configs wherever the concept is the same, so that users who know
those feel at home. The defaults give the paper's base model; named sizes are presets:
`hf_nlpnotes.load_preset("transformer-base")`, "transformer-big", "transformer-tiny".
"""

from transformers import PreTrainedConfig

from .configuration_notes_utils import (
    check_activation,
    check_choice,
    check_divisible,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_token_id,
)

NORM_TYPES = ("layernorm", "batchnorm")


class NotesTransformerConfig(PreTrainedConfig):
    r"""The encoder–decoder Transformer. Defaults: the paper's base model (6 + 6 layers, d_model 512, 8 heads).

    Args:
        vocab_size: size of the vocabulary shared by source and target.
        d_model: width of every layer; must be divisible by the attention head counts (and even, for the sinusoids).
        encoder_layers / decoder_layers: number of layers of each stack.
        encoder_attention_heads / decoder_attention_heads: heads per attention layer.
        encoder_ffn_dim / decoder_ffn_dim: inner width d_ff of the position-wise feed-forward layers.
        activation_function: activation of the feed-forward layers (a transformers ACT2FN name; the paper: "relu").
        dropout: dropout on the embeddings + positions and on every residual branch (P_drop), in [0, 1).
        attention_dropout: dropout on the attention probabilities.
        activation_dropout: dropout after the feed-forward activation.
        label_smoothing: ε_ls of the label-smoothed cross-entropy used when `labels` are given (the paper: 0.1).
        max_position_embeddings: longest source / target accepted. The sinusoidal encoding itself has no table and
            works for any length; this limit only makes over-long input fail early and clearly (truncate it with the
            tokenizer's `truncation=True`).
        scale_embedding: multiply the token embeddings by √d_model (the paper, section 3.4).
        normalize_before: pre-LN blocks (x + Sublayer(Norm(x)), plus a final norm on each stack) instead of the
            paper's post-LN blocks (Norm(x + Sublayer(x))).
        norm_type: "layernorm" (the paper) or "batchnorm"; BatchNorm statistics are taken over real (non-padding)
            tokens only.
        norm_eps: epsilon of every normalisation layer.
        init_std: std of the normal initialisation of every linear layer and of the token embeddings (as BART /
            Marian; the paper does not specify one). On short CPU runs it trained faster than Xavier-uniform linears
            with N(0, d_model^-0.5) embeddings (the tensor2tensor / fairseq choice).
        tie_word_embeddings: tie the output projection (pre-softmax linear) to the shared token embeddings.
        pad_token_id / bos_token_id / eos_token_id / decoder_start_token_id: special token ids (BOS starts decoding).
    """

    model_type = "notes_transformer"
    keys_to_ignore_at_inference = ["past_key_values"]
    # generic names used by transformers' utilities; the KV cache is the decoder's, hence its layer count
    attribute_map = {
        "hidden_size": "d_model",
        "num_attention_heads": "decoder_attention_heads",
        "num_hidden_layers": "decoder_layers",
    }

    vocab_size: int = 37000
    d_model: int = 512
    encoder_layers: int = 6
    decoder_layers: int = 6
    encoder_attention_heads: int = 8
    decoder_attention_heads: int = 8
    encoder_ffn_dim: int = 2048
    decoder_ffn_dim: int = 2048
    activation_function: str = "relu"
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    label_smoothing: float = 0.1
    max_position_embeddings: int = 1024
    scale_embedding: bool = True
    normalize_before: bool = False
    norm_type: str = "layernorm"
    norm_eps: float = 1e-5
    init_std: float = 0.02
    use_cache: bool = True
    is_encoder_decoder: bool = True
    tie_word_embeddings: bool = True
    pad_token_id: int | None = 0
    bos_token_id: int | None = 1
    eos_token_id: int | None = 2
    decoder_start_token_id: int | None = 1

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self.validate_fields()

    def validate_fields(self):
        check_positive_int(
            self,
            "vocab_size",
            "d_model",
            "encoder_layers",
            "decoder_layers",
            "encoder_attention_heads",
            "decoder_attention_heads",
            "encoder_ffn_dim",
            "decoder_ffn_dim",
            "max_position_embeddings",
        )
        check_divisible(self, "d_model", "encoder_attention_heads")
        check_divisible(self, "d_model", "decoder_attention_heads")
        if self.d_model % 2 != 0:
            raise ValueError(
                f"{type(self).__name__}.d_model must be even for the sinusoidal positional encoding, got {self.d_model}"
            )
        check_probability(self, "dropout", "attention_dropout", "activation_dropout", "label_smoothing")
        check_activation(self, "activation_function")
        check_choice(self, "norm_type", NORM_TYPES)
        check_positive_float(self, "norm_eps", "init_std")
        for field in ("scale_embedding", "normalize_before", "tie_word_embeddings"):
            if not isinstance(getattr(self, field), bool):
                raise ValueError(f"{type(self).__name__}.{field} must be a bool, got {getattr(self, field)!r}")
        for field in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
            check_token_id(self, field)


__all__ = ["NotesTransformerConfig"]
