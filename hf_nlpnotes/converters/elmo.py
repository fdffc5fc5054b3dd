"""Original ELMo weights (bilm-tf / AllenNLP: options.json + HDF5) → an hf_nlpnotes folder loadable by `AutoModel`.

    python -m hf_nlpnotes.converters.elmo --options_file options.json --weight_file weights.hdf5 \
        --output_dir elmo-hf [--vocab_file vocab.txt] [--overwrite]

The HDF5 layout (same names for every size, the full-size model included):
    char_embed                         [n_characters - 1, char_dim]  (bilm-tf has no row for padding id 0)
    CNN/W_cnn_i, CNN/b_cnn_i           [1, width, char_dim, filters], [filters]
    CNN_high_k/{W,b}_{carry,transform} [n_filters, n_filters], [n_filters]
    CNN_proj/W_proj, CNN_proj/b_proj   [n_filters, projection], [projection]
    RNN_d/RNN/MultiRNNCell/Cell{l}/LSTMCell/{W_0, B, W_P_0}   d = 0 forward, 1 backward
        W_0 [input + projection, 4 * cell] (TensorFlow gate order i, j, f, o), B [4 * cell], W_P_0 [cell, projection]

bilm-tf's highway is `g * relu(x W_transform + b_transform) + (1 - g) * x` with `g = sigmoid(x W_carry + b_carry)`
(its "carry" matrix computes the gate), so W_carry goes to `Highway.gates` and W_transform to `Highway.transforms`.
TensorFlow's LSTMCell adds a forget bias of 1.0 at run time; it is folded into `bias_ih` here.
"""

import argparse
import os

import numpy as np
import torch

from ..models.configuration_notes_elmo import NotesElmoConfig
from ..models.modeling_notes_elmo import NotesElmoModel
from ..models.tokenization_notes_elmo import NotesElmoTokenizer
from .common import check_and_load, prepare_output_dir

TF_TO_TORCH_GATES = (0, 2, 1, 3)  # TensorFlow i, j, f, o → torch i, f, g(=j), o


class _WeightFile:
    """Reads datasets by name and checks each against the shape the options imply, naming the dataset on failure."""

    def __init__(self, path):
        try:
            import h5py
        except ImportError as error:
            raise ImportError("reading ELMo HDF5 weights needs h5py: pip install h5py") from error
        if not os.path.isfile(path):
            raise FileNotFoundError(f"ELMo weight file not found: {path}")
        try:
            self.file = h5py.File(path, "r")
        except OSError as error:
            raise ValueError(f"{path} is not a readable HDF5 file: {error}") from error
        self.path = path

    def get(self, name: str, *expected_shape: int) -> np.ndarray:
        if name not in self.file:
            raise ValueError(
                f"the weight file {self.path} has no dataset {name!r}, which its options require; "
                "does the file belong to these options?"
            )
        value = self.file[name][...]
        if tuple(value.shape) != tuple(expected_shape):
            raise ValueError(
                f"dataset {name!r} in {self.path} has shape {tuple(value.shape)} but the options imply "
                f"{tuple(expected_shape)}; the weight file does not match its options"
            )
        return value.astype(np.float32)


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


def elmo_state_dict_from_hdf5(weight_file: str | os.PathLike, config: NotesElmoConfig) -> dict[str, torch.Tensor]:
    """The `NotesElmoModel` state dict of an original HDF5 weight file, checked against `config`."""
    weights = _WeightFile(weight_file)
    state = {}
    char_dim, n_filters, proj, cell = (
        config.char_embedding_dim,
        config.num_cnn_filters,
        config.projection_dim,
        config.lstm_cell_size,
    )
    # bilm-tf stores no row for the padding id 0: prepend a zero row (a file that has it already is taken as is)
    stored_rows = weights.file["char_embed"].shape[0] if "char_embed" in weights.file else config.num_characters - 1
    rows = config.num_characters if stored_rows == config.num_characters else config.num_characters - 1
    char_embed = weights.get("char_embed", rows, char_dim)
    if rows == config.num_characters - 1:
        char_embed = np.concatenate([np.zeros((1, char_dim), dtype=np.float32), char_embed])
    state["char_encoder.char_embedding.weight"] = _tensor(char_embed)

    for i, (width, count) in enumerate(config.cnn_filters):
        kernel = weights.get(f"CNN/W_cnn_{i}", 1, width, char_dim, count)
        state[f"char_encoder.convolutions.{i}.weight"] = _tensor(kernel[0].transpose(2, 1, 0))  # [count, dim, width]
        state[f"char_encoder.convolutions.{i}.bias"] = _tensor(weights.get(f"CNN/b_cnn_{i}", count))

    for k in range(config.num_highway_layers):
        group = f"CNN_high_{k}"
        state[f"char_encoder.highway.gates.{k}.weight"] = _tensor(weights.get(f"{group}/W_carry", n_filters, n_filters).T)
        state[f"char_encoder.highway.gates.{k}.bias"] = _tensor(weights.get(f"{group}/b_carry", n_filters))
        state[f"char_encoder.highway.transforms.{k}.weight"] = _tensor(
            weights.get(f"{group}/W_transform", n_filters, n_filters).T
        )
        state[f"char_encoder.highway.transforms.{k}.bias"] = _tensor(weights.get(f"{group}/b_transform", n_filters))

    state["char_encoder.projection.weight"] = _tensor(weights.get("CNN_proj/W_proj", n_filters, proj).T)
    state["char_encoder.projection.bias"] = _tensor(weights.get("CNN_proj/b_proj", proj))

    def gates_to_torch(array: np.ndarray) -> np.ndarray:  # along the first axis, 4 blocks of `cell`
        blocks = np.split(array, 4, axis=0)
        return np.concatenate([blocks[g] for g in TF_TO_TORCH_GATES], axis=0)

    for direction, name in ((0, "forward_lstm"), (1, "backward_lstm")):
        for layer in range(config.num_lstm_layers):
            group = f"RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell"
            prefix = f"bilm.layers.{layer}.{name}"
            kernel = gates_to_torch(weights.get(f"{group}/W_0", proj + proj, 4 * cell).T)  # [4 cell, input + proj]
            bias = weights.get(f"{group}/B", 4 * cell).copy()
            bias[2 * cell : 3 * cell] += 1.0  # TensorFlow's forget_bias, added at run time there
            state[f"{prefix}.weight_ih_l0"] = _tensor(kernel[:, :proj])
            state[f"{prefix}.weight_hh_l0"] = _tensor(kernel[:, proj:])
            state[f"{prefix}.bias_ih_l0"] = _tensor(gates_to_torch(bias))
            state[f"{prefix}.bias_hh_l0"] = torch.zeros(4 * cell)
            state[f"{prefix}.weight_hr_l0"] = _tensor(weights.get(f"{group}/W_P_0", cell, proj).T)
    return state


def convert_allennlp_elmo(
    options_file: str | os.PathLike,
    weight_file: str | os.PathLike,
    output_dir: str | os.PathLike | None = None,
    vocab_file: str | os.PathLike | None = None,
    overwrite: bool = False,
    **config_overrides,
) -> NotesElmoModel:
    """Converts an original ELMo (options.json + HDF5 weights) into a `NotesElmoModel`; with `output_dir`, saves it
    there (safetensors) with a `NotesElmoTokenizer` (word vocabulary from `vocab_file` when given), so that
    `AutoModel.from_pretrained(output_dir)` and `AutoTokenizer.from_pretrained(output_dir)` load it.
    `config_overrides` (e.g. `lstm_implementation="fast"`) go to the config."""
    if output_dir is not None:  # refuse an existing folder before doing any work
        prepare_output_dir(output_dir, overwrite=overwrite)
    config = NotesElmoConfig.from_allennlp_options(options_file, **config_overrides)
    model = NotesElmoModel(config)
    check_and_load(model, elmo_state_dict_from_hdf5(weight_file, config), source=str(weight_file))
    model.eval()
    if output_dir is not None:
        model.save_pretrained(output_dir)
        tokenizer = NotesElmoTokenizer(vocab_file=str(vocab_file) if vocab_file else None,
                                       max_characters_per_token=config.max_characters_per_token)
        tokenizer.save_pretrained(output_dir)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert original ELMo weights (bilm-tf/AllenNLP) to hf_nlpnotes.")
    parser.add_argument("--options_file", required=True, help="the original options.json")
    parser.add_argument("--weight_file", required=True, help="the original HDF5 weights")
    parser.add_argument("--output_dir", required=True, help="folder to write (refused if it exists, unless --overwrite)")
    parser.add_argument("--vocab_file", default=None, help="optional bilm-tf word vocabulary (vocab.txt)")
    parser.add_argument("--lstm_implementation", choices=("exact", "fast"), default="exact")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    args = parser.parse_args(argv)
    convert_allennlp_elmo(
        args.options_file,
        args.weight_file,
        args.output_dir,
        vocab_file=args.vocab_file,
        overwrite=args.overwrite,
        lstm_implementation=args.lstm_implementation,
    )
    print(f"saved to {args.output_dir}")


if __name__ == "__main__":
    main()
