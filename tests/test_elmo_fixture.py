"""The acceptance test: converted original weights reproduce the original bilm-tf top layer on the AllenNLP fixture.

Run the way the fixture was produced: batches of 3 (sentence i of lists 0, 1, 2), state carried from batch to batch
row by row, `<S>`/`</S>` added by the tokenizer and removed from the output.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

import hf_nlpnotes  # noqa: F401
from hf_nlpnotes import NotesElmoModel, NotesElmoTokenizer, convert_allennlp_elmo

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "elmo-allennlp"
h5py = pytest.importorskip("h5py", reason="reading the ELMo fixture needs h5py")
pytestmark = pytest.mark.skipif(not FIXTURE.is_dir(), reason=f"the ELMo fixture is missing: {FIXTURE}")


def run_fixture(model, tokenizer):
    """Top-layer outputs of the 30 fixture sentences (list k, sentence i) and the references, as the README says."""
    sentences = json.loads((FIXTURE / "sentences.json").read_text())
    references = [h5py.File(FIXTURE / f"lm_embeddings_{k}.hdf5", "r") for k in range(3)]
    ours, theirs, states = [], [], None
    for i in range(len(sentences[0])):
        batch = [sentences[k][i] for k in range(3)]
        encoded = tokenizer(batch, padding=True, return_tensors="pt")
        with torch.no_grad():
            output = model(**encoded, initial_states=states, return_final_states=True)
        states = output.final_states
        for k, sentence in enumerate(batch):
            length = len(sentence.split())
            ours.append(output.last_hidden_state[k, 1 : length + 1].numpy())  # drop <S> and </S>
            forward, backward = references[k][str(i)][...]
            theirs.append(np.concatenate([forward, backward], axis=-1))
    return ours, theirs


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("elmo") / "converted"
    convert_allennlp_elmo(FIXTURE / "options.json", FIXTURE / "lm_weights.hdf5", folder, vocab_file=FIXTURE / "vocab_test.txt")
    return folder


def test_converted_model_reproduces_the_original_top_layer(converted):
    model = AutoModel.from_pretrained(converted).eval()
    tokenizer = AutoTokenizer.from_pretrained(converted)
    assert isinstance(model, NotesElmoModel) and isinstance(tokenizer, NotesElmoTokenizer)
    ours, theirs = run_fixture(model, tokenizer)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


def test_state_matters_for_the_reference(converted):
    """Without the carried state the outputs differ from the reference: the test above really checks the state."""
    model = AutoModel.from_pretrained(converted).eval()
    tokenizer = NotesElmoTokenizer()
    sentences = json.loads((FIXTURE / "sentences.json").read_text())
    reference = h5py.File(FIXTURE / "lm_embeddings_0.hdf5", "r")["1"][...]
    with torch.no_grad():
        stateless = model(**tokenizer([sentences[0][1]], return_tensors="pt")).last_hidden_state[0, 1:-1].numpy()
    assert np.abs(stateless - np.concatenate(reference, axis=-1)).max() > 1e-3


def test_fast_path_distance_on_the_fixture(converted):
    """The fast path has no clipping: on this (clipping-heavy) fixture model its top layer stays close in direction
    but not within 1e-5 (measured: max |Δ| 1.32, mean |Δ| 0.014, cosine >= 0.988; documented in the model docstring).
    Without clipping in the config, the two paths agree to float precision."""
    fast = AutoModel.from_pretrained(converted, lstm_implementation="fast").eval()
    ours, theirs = run_fixture(fast, NotesElmoTokenizer())
    difference = np.concatenate([np.abs(a - b).ravel() for a, b in zip(ours, theirs)])
    cosine = np.concatenate(
        [np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1) for a, b in zip(ours, theirs)]
    )
    assert difference.mean() < 0.05 and cosine.min() > 0.98
    assert difference.max() > 1e-3  # clipping is active in this model: the exact path is needed to reproduce it


def test_mismatched_weight_file_names_the_dataset(tmp_path):
    options = json.loads((FIXTURE / "options.json").read_text())
    options["char_cnn"]["filters"][2] = [3, 17]
    (tmp_path / "options.json").write_text(json.dumps(options))
    with pytest.raises(ValueError, match=r"dataset 'CNN/W_cnn_2' .* shape \(1, 3, 4, 16\) .* \(1, 3, 4, 17\)"):
        convert_allennlp_elmo(tmp_path / "options.json", FIXTURE / "lm_weights.hdf5")
    options = json.loads((FIXTURE / "options.json").read_text())
    options["lstm"]["n_layers"] = 3
    (tmp_path / "options.json").write_text(json.dumps(options))
    with pytest.raises(ValueError, match="no dataset 'RNN_0/RNN/MultiRNNCell/Cell2/LSTMCell/W_0'"):
        convert_allennlp_elmo(tmp_path / "options.json", FIXTURE / "lm_weights.hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        convert_allennlp_elmo(FIXTURE / "options.json", FIXTURE / "options.json")


def test_command_line_refuses_to_overwrite(converted):
    command = [
        sys.executable, "-m", "hf_nlpnotes.converters.elmo",
        "--options_file", str(FIXTURE / "options.json"),
        "--weight_file", str(FIXTURE / "lm_weights.hdf5"),
        "--output_dir", str(converted),
    ]  # fmt: skip
    refused = subprocess.run(command, capture_output=True, text=True)
    assert refused.returncode != 0 and "--overwrite" in refused.stderr
    accepted = subprocess.run(command + ["--overwrite"], capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stderr


def write_bilm_tf_weights(path, options, generator):
    """Random weights in the bilm-tf HDF5 layout for `options` (char_embed without the padding row)."""
    cnn, lstm = options["char_cnn"], options["lstm"]
    char_dim, n_filters = cnn["embedding"]["dim"], sum(count for _, count in cnn["filters"])
    projection, cell = lstm["projection_dim"], lstm["dim"]
    with h5py.File(path, "w") as handle:
        handle["char_embed"] = generator.standard_normal((261, char_dim)).astype(np.float32)
        for i, (width, count) in enumerate(cnn["filters"]):
            handle[f"CNN/W_cnn_{i}"] = generator.uniform(-0.05, 0.05, (1, width, char_dim, count)).astype(np.float32)
            handle[f"CNN/b_cnn_{i}"] = generator.uniform(-0.1, 0.1, count).astype(np.float32)
        for k in range(cnn["n_highway"]):
            for name in ("carry", "transform"):
                handle[f"CNN_high_{k}/W_{name}"] = (generator.standard_normal((n_filters, n_filters)) / np.sqrt(n_filters)).astype(np.float32)
                handle[f"CNN_high_{k}/b_{name}"] = generator.uniform(-1, 1, n_filters).astype(np.float32)
        handle["CNN_proj/W_proj"] = (generator.standard_normal((n_filters, projection)) / np.sqrt(n_filters)).astype(np.float32)
        handle["CNN_proj/b_proj"] = np.zeros(projection, dtype=np.float32)
        for direction in range(2):
            for layer in range(lstm["n_layers"]):
                group = f"RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell"
                handle[f"{group}/W_0"] = generator.uniform(-0.05, 0.05, (2 * projection, 4 * cell)).astype(np.float32)
                handle[f"{group}/B"] = generator.uniform(-0.1, 0.1, 4 * cell).astype(np.float32)
                handle[f"{group}/W_P_0"] = generator.uniform(-0.05, 0.05, (cell, projection)).astype(np.float32)


def bilm_tf_token_layer(path, options, char_ids):
    """bilm-tf's token layer in numpy, straight from the HDF5 file: embedding (row 0 = padding), convolutions, max,
    activation, highway `g * relu(x W_transform + b_transform) + (1 - g) * x` with `g = sigmoid(x W_carry + b_carry)`,
    projection. char_ids: [words, characters] with the +1 shift."""
    cnn = options["char_cnn"]
    with h5py.File(path, "r") as handle:
        table = np.concatenate([np.zeros((1, cnn["embedding"]["dim"]), np.float32), handle["char_embed"][...]])
        chars = table[char_ids]  # [words, characters, dim]
        features = []
        for i, (width, _) in enumerate(cnn["filters"]):
            kernel, bias = handle[f"CNN/W_cnn_{i}"][0], handle[f"CNN/b_cnn_{i}"][...]  # [width, dim, count]
            windows = np.stack([chars[:, j : j + width] for j in range(chars.shape[1] - width + 1)], axis=1)
            convolved = np.einsum("nswd,wdc->nsc", windows, kernel) + bias
            features.append(np.maximum(convolved.max(axis=1), 0.0))
        x = np.concatenate(features, axis=-1)
        for k in range(cnn["n_highway"]):
            group = handle[f"CNN_high_{k}"]
            gate = 1 / (1 + np.exp(-(x @ group["W_carry"][...] + group["b_carry"][...])))
            x = gate * np.maximum(x @ group["W_transform"][...] + group["b_transform"][...], 0.0) + (1 - gate) * x
        return x @ handle["CNN_proj/W_proj"][...] + handle["CNN_proj/b_proj"][...]


def test_converter_handles_the_published_layout(tmp_path):
    """The layout of the published elmo-small (2048 CNN filters over widths 1-7, one highway layer, 1024 cell,
    128 projection, training-time n_characters 261) with random weights: conversion, and the token layer against a
    numpy transcription of bilm-tf."""
    options = {
        "lstm": {"use_skip_connections": True, "projection_dim": 128, "cell_clip": 3, "proj_clip": 3, "dim": 1024,
                 "n_layers": 2},
        "char_cnn": {"activation": "relu", "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512],
                                                      [7, 1024]], "n_highway": 1, "embedding": {"dim": 16},
                     "n_characters": 261, "max_characters_per_token": 50},
        "bidirectional": True, "dropout": 0.1, "n_tokens_vocab": 793471,
    }  # fmt: skip
    (tmp_path / "options.json").write_text(json.dumps(options))
    write_bilm_tf_weights(tmp_path / "weights.hdf5", options, np.random.default_rng(0))
    model = convert_allennlp_elmo(tmp_path / "options.json", tmp_path / "weights.hdf5", tmp_path / "out")
    saving_fields = ("architectures", "dtype", "auto_map")  # written by save_pretrained
    converted_fields = {k: v for k, v in model.config.to_diff_dict().items() if k not in saving_fields}
    assert converted_fields == hf_nlpnotes.load_preset("elmo-small").to_diff_dict()
    encoded = NotesElmoTokenizer()("Größere Modelle , same layout .", return_tensors="pt")
    with torch.no_grad():
        ours = model.char_encoder(encoded["input_ids"])[0].numpy()
        top = model(**encoded).last_hidden_state
    expected = bilm_tf_token_layer(tmp_path / "weights.hdf5", options, encoded["input_ids"][0].numpy())
    np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=1e-4)
    assert top.shape == (1, 8, 256) and torch.isfinite(top).all()
    assert isinstance(AutoModel.from_pretrained(tmp_path / "out"), NotesElmoModel)
