"""Configuration of hf_nlpnotes' ELMo (Peters et al., 2018); every field of the original bilm-tf options file.

The defaults give the original model (`2x4096_512_2048cnn_2xhighway`); named sizes are presets:
`hf_nlpnotes.load_preset("elmo-small")`. `NotesElmoConfig.from_allennlp_options("options.json")` reads an original
options file.
"""

import json
import os

from transformers import PreTrainedConfig

from .configuration_notes_utils import (
    _fail,
    check_activation,
    check_choice,
    check_non_negative_int,
    check_positive_float,
    check_positive_int,
    check_probability,
)

# the filters of every published ELMo: 2048 filters over widths 1-7
ORIGINAL_CNN_FILTERS = [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]]
# 256 byte values, 5 special characters (sentence begin/end, word begin/end, padding), all shifted by +1 so that
# 0 is a padded token: ids 0..261
ORIGINAL_NUM_CHARACTERS = 262
LSTM_IMPLEMENTATIONS = ("exact", "fast")


class NotesElmoConfig(PreTrainedConfig):
    r"""ELMo: a character CNN token layer under a 2-layer bidirectional LSTM language model.

    Args (the original options-file name in brackets):
        char_embedding_dim: width of the character embeddings [char_cnn.embedding.dim].
        cnn_filters: the character convolutions as `[width, number of filters]` pairs [char_cnn.filters].
        cnn_activation: activation after the max over characters and in the highway layers [char_cnn.activation].
        num_highway_layers: highway layers over the concatenated filter outputs [char_cnn.n_highway].
        num_characters: size of the character vocabulary, padding id 0 included [char_cnn.n_characters].
        max_characters_per_token: characters per word, word boundary markers and padding included
            [char_cnn.max_characters_per_token].
        projection_dim: width of the token layer's linear projection and of the LSTM projection, i.e. of every
            direction of every layer; they are one size in the original because the layers are mixed
            [lstm.projection_dim].
        lstm_cell_size: LSTM memory cell size [lstm.dim].
        num_lstm_layers: LSTM layers per direction [lstm.n_layers].
        cell_clip: the memory cell is clipped to [-cell_clip, cell_clip]; None: no clipping [lstm.cell_clip].
        proj_clip: the projected output is clipped to [-proj_clip, proj_clip]; None: no clipping [lstm.proj_clip].
        use_skip_connections: residual connection around every LSTM layer but the first [lstm.use_skip_connections].
        dropout: dropout on the input of every LSTM layer while training [dropout].
        vocab_size: size of the word vocabulary of the language-model softmax [n_tokens_vocab].
        sampled_softmax_num_samples: negatives sampled per batch for the training loss of the language model;
            0 trains with the full softmax (the evaluation always uses the full softmax)
            [n_negative_samples_batch].
        lstm_implementation: "exact" reproduces the original numerics (clipping included); "fast" runs
            `torch.nn.LSTM(proj_size=...)` (cuDNN on a GPU) without clipping. Both read the same weights.
        freeze_bilm: the downstream heads keep the biLM frozen (the paper's feature-based recipe); False fine-tunes it.
        scalar_mix_layer_norm: the downstream scalar mix normalises each layer first (the original's option).
        classifier_dropout: dropout in the downstream heads.
        classifier_num_heads: attention heads of the sequence classifier's self-attentive pooling.
        token_classifier_hidden_size: hidden size per direction of the token classifier's BiLSTM.
        initializer_range: std of the normal initialisation of the linear layers.
    """

    model_type = "notes_elmo"

    char_embedding_dim: int = 16
    cnn_filters: list | None = None
    cnn_activation: str = "relu"
    num_highway_layers: int = 2
    num_characters: int = ORIGINAL_NUM_CHARACTERS
    max_characters_per_token: int = 50
    projection_dim: int = 512
    lstm_cell_size: int = 4096
    num_lstm_layers: int = 2
    cell_clip: float | None = 3.0
    proj_clip: float | None = 3.0
    use_skip_connections: bool = True
    dropout: float = 0.1
    vocab_size: int = 793471
    sampled_softmax_num_samples: int = 0
    lstm_implementation: str = "exact"
    freeze_bilm: bool = True
    scalar_mix_layer_norm: bool = False
    classifier_dropout: float = 0.2
    classifier_num_heads: int = 1
    token_classifier_hidden_size: int = 128
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        if self.cnn_filters is None:
            self.cnn_filters = [list(pair) for pair in ORIGINAL_CNN_FILTERS]
        super().__post_init__(**kwargs)
        self.validate_fields()

    @property
    def num_cnn_filters(self) -> int:
        """Width of the concatenated filter outputs (the highway width)."""
        return sum(count for _, count in self.cnn_filters)

    @property
    def output_dim(self) -> int:
        """Width of every layer representation: forward and backward concatenated."""
        return 2 * self.projection_dim

    def validate_fields(self):
        check_positive_int(
            self,
            "char_embedding_dim",
            "num_characters",
            "max_characters_per_token",
            "projection_dim",
            "lstm_cell_size",
            "num_lstm_layers",
            "vocab_size",
            "classifier_num_heads",
            "token_classifier_hidden_size",
        )
        check_non_negative_int(self, "num_highway_layers", "sampled_softmax_num_samples")
        check_activation(self, "cnn_activation")
        check_probability(self, "dropout", "classifier_dropout")
        check_positive_float(self, "initializer_range")
        for field in ("cell_clip", "proj_clip"):
            if getattr(self, field) is not None:
                check_positive_float(self, field)
        for field in ("use_skip_connections", "freeze_bilm", "scalar_mix_layer_norm"):
            if not isinstance(getattr(self, field), bool):
                _fail(self, field, getattr(self, field), "True or False")
        check_choice(self, "lstm_implementation", LSTM_IMPLEMENTATIONS)
        filters = self.cnn_filters
        if (
            not isinstance(filters, (list, tuple))
            or not filters
            or not all(
                isinstance(pair, (list, tuple))
                and len(pair) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair)
                for pair in filters
            )
        ):
            _fail(self, "cnn_filters", filters, "a non-empty list of [width, number of filters] pairs of positive ints")
        self.cnn_filters = [list(pair) for pair in filters]
        widest = max(width for width, _ in self.cnn_filters)
        if widest > self.max_characters_per_token:
            _fail(self, "cnn_filters", filters, f"filters no wider than max_characters_per_token={self.max_characters_per_token}")
        if self.max_characters_per_token < 3:
            _fail(self, "max_characters_per_token", self.max_characters_per_token, "at least 3 (word begin, a byte, word end)")
        if self.output_dim % self.classifier_num_heads != 0:
            _fail(
                self,
                "classifier_num_heads",
                self.classifier_num_heads,
                f"a divisor of the feature width 2 * projection_dim = {self.output_dim}",
            )

    @classmethod
    def from_allennlp_options(cls, options: str | os.PathLike | dict, **kwargs) -> "NotesElmoConfig":
        """The config of an original bilm-tf / AllenNLP `options.json` (a path or the parsed dict).

        Training-only entries (batch size, epochs, ...) are ignored. bilm-tf trains with `n_characters` 261 and
        runs inference with 262 (the padding row added in front); the config always holds the inference size.
        """
        if not isinstance(options, dict):
            with open(options, encoding="utf-8") as handle:
                try:
                    options = json.load(handle)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{options} is not a valid JSON options file: {error}") from error
        try:
            lstm, cnn = options["lstm"], options["char_cnn"]
            fields = {
                "char_embedding_dim": cnn["embedding"]["dim"],
                "cnn_filters": [list(pair) for pair in cnn["filters"]],
                "cnn_activation": cnn["activation"],
                "num_highway_layers": cnn.get("n_highway", 0),
                "num_characters": max(int(cnn["n_characters"]), ORIGINAL_NUM_CHARACTERS),
                "max_characters_per_token": cnn["max_characters_per_token"],
                "projection_dim": lstm["projection_dim"],
                "lstm_cell_size": lstm["dim"],
                "num_lstm_layers": lstm["n_layers"],
                "cell_clip": lstm.get("cell_clip"),
                "proj_clip": lstm.get("proj_clip"),
                "use_skip_connections": bool(lstm.get("use_skip_connections", False)),
            }
        except (KeyError, TypeError) as error:
            raise ValueError(f"the ELMo options lack the entry {error} (expected the bilm-tf options.json layout)") from error
        if not options.get("bidirectional", True):
            raise ValueError("the ELMo options describe a unidirectional LM (bidirectional: false); only biLMs are supported")
        for field in ("cell_clip", "proj_clip"):
            if fields[field] is not None:
                fields[field] = float(fields[field])
        if "dropout" in options:
            fields["dropout"] = float(options["dropout"])
        if "n_tokens_vocab" in options:
            fields["vocab_size"] = int(options["n_tokens_vocab"])
        if "n_negative_samples_batch" in options:
            fields["sampled_softmax_num_samples"] = int(options["n_negative_samples_batch"])
        fields.update(kwargs)
        return cls(**fields)


__all__ = ["NotesElmoConfig"]
