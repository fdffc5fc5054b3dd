"""convert_transformers_bert on folders written by transformers' own BERT classes (random weights, no downloads)."""

import json
import subprocess
import sys

import pytest
import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoModel, AutoModelForPreTraining, AutoModelForSequenceClassification, AutoTokenizer

from hf_nlpnotes import NotesBertForPreTraining, NotesBertModel, NotesBertTokenizer, convert_transformers_bert

TINY = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48, max_position_embeddings=40)
WORDS = "the earth was formless and empty darkness on surface of deep god said let there be light".split()


def write_vocab(folder):
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    tokens += [f"w{i}" for i in range(TINY["vocab_size"] - len(tokens))]
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n")


def batch():
    generator = torch.Generator().manual_seed(3)
    ids = torch.randint(0, TINY["vocab_size"], (2, 9), generator=generator)
    return dict(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids))


def test_pretraining_folder_with_safetensors_and_vocab(tmp_path):
    src, out = tmp_path / "hf-bert", tmp_path / "notes-bert"
    reference = transformers.BertForPreTraining(transformers.BertConfig(**TINY)).eval()
    reference.save_pretrained(src)
    write_vocab(src)
    convert_transformers_bert(src, out)

    model = AutoModelForPreTraining.from_pretrained(out).eval()
    assert type(model) is NotesBertForPreTraining
    with torch.no_grad():
        ours, theirs = model(**batch()), reference(**batch())
    torch.testing.assert_close(ours.prediction_logits, theirs.prediction_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.seq_relationship_logits, theirs.seq_relationship_logits, atol=1e-5, rtol=1e-5)

    tokenizer = AutoTokenizer.from_pretrained(out)
    assert type(tokenizer) is NotesBertTokenizer
    reference_tokenizer = transformers.BertTokenizer.from_pretrained(src)
    text = "Let there be light on the surface of the deep"
    assert tokenizer(text)["input_ids"] == reference_tokenizer(text)["input_ids"]
    assert json.loads((out / "config.json").read_text())["model_type"] == "notes_bert"
    assert not list(out.glob("*.bin"))


def test_legacy_base_checkpoint_bin_without_prefix(tmp_path):
    src, out = tmp_path / "legacy", tmp_path / "converted"
    reference = transformers.BertModel(transformers.BertConfig(**TINY)).eval()
    reference.save_pretrained(src)
    state_dict = load_file(src / "model.safetensors")
    # what old checkpoints look like: pickled, a persistent position_ids buffer, TF-era LayerNorm names
    state_dict["embeddings.position_ids"] = torch.arange(TINY["max_position_embeddings"]).unsqueeze(0)
    state_dict = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v for k, v in state_dict.items()}
    (src / "model.safetensors").unlink()
    torch.save(state_dict, src / "pytorch_model.bin")
    config = json.loads((src / "config.json").read_text())
    config.pop("architectures")
    (src / "config.json").write_text(json.dumps(config))
    tokenizer_json_source = NotesBertTokenizer(vocab={t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS)})
    tokenizer_json_source.backend_tokenizer.save(str(src / "tokenizer.json"))

    model = convert_transformers_bert(src, out)
    assert type(model) is NotesBertModel
    reloaded = AutoModel.from_pretrained(out).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch()).last_hidden_state, reference(**batch()).last_hidden_state, atol=1e-5, rtol=1e-5)
    assert AutoTokenizer.from_pretrained(out)("let there be light")["input_ids"][1] == 5 + WORDS.index("let")


def test_base_checkpoint_into_a_head_model_gets_the_prefix(tmp_path):
    src, out = tmp_path / "cls", tmp_path / "converted"
    reference = transformers.BertForSequenceClassification(
        transformers.BertConfig(**TINY, num_labels=3, id2label={0: "neg", 1: "neu", 2: "pos"})
    ).eval()
    reference.save_pretrained(src)
    write_vocab(src)
    convert_transformers_bert(src, out)
    model = AutoModelForSequenceClassification.from_pretrained(out).eval()
    assert model.config.id2label == {0: "neg", 1: "neu", 2: "pos"}
    with torch.no_grad():
        torch.testing.assert_close(model(**batch()).logits, reference(**batch()).logits, atol=1e-5, rtol=1e-5)


@pytest.fixture
def good_source(tmp_path):
    src = tmp_path / "good"
    transformers.BertForMaskedLM(transformers.BertConfig(**TINY)).save_pretrained(src)
    write_vocab(src)
    return src


def test_missing_files_are_named(good_source, tmp_path):
    (good_source / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no weight file"):
        convert_transformers_bert(good_source, tmp_path / "o1")
    (good_source / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json"):
        convert_transformers_bert(good_source, tmp_path / "o2")
    with pytest.raises(FileNotFoundError, match="source folder"):
        convert_transformers_bert(tmp_path / "nowhere", tmp_path / "o3")


def test_missing_vocabulary_is_named(good_source, tmp_path):
    (good_source / "vocab.txt").unlink()
    with pytest.raises(FileNotFoundError, match="vocab.txt or tokenizer.json"):
        convert_transformers_bert(good_source, tmp_path / "out")


def test_mismatched_shapes_are_named(good_source, tmp_path):
    config = json.loads((good_source / "config.json").read_text())
    config["intermediate_size"] = 64
    (good_source / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"intermediate.dense.weight: checkpoint \(48, 32\) vs model \(64, 32\)"):
        convert_transformers_bert(good_source, tmp_path / "out")


def test_not_a_bert_and_corrupt_weights(good_source, tmp_path):
    (good_source / "model.safetensors").write_bytes(b"definitely not safetensors")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        convert_transformers_bert(good_source, tmp_path / "out")
    config = json.loads((good_source / "config.json").read_text())
    config["model_type"] = "gpt2"
    (good_source / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="model_type 'gpt2'"):
        convert_transformers_bert(good_source, tmp_path / "out")


def test_existing_output_is_not_overwritten(good_source, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="overwrite"):
        convert_transformers_bert(good_source, out)
    assert (out / "precious.txt").read_text() == "keep me"
    convert_transformers_bert(good_source, out, overwrite=True)
    assert (out / "model.safetensors").is_file()


def test_command_line(good_source, tmp_path):
    out = tmp_path / "cli-out"
    command = [sys.executable, "-m", "hf_nlpnotes.converters.bert", str(good_source), str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "NotesBertForMaskedLM" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 1 and "overwrite" in again.stderr
