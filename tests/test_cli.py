"""`hf-nlpnotes` end to end: train, convert, push, info, --help and the errors."""

import contextlib
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import transformers
from huggingface_hub import ModelCard

from hf_nlpnotes import NotesBertForMaskedLM, load_preset
from hf_nlpnotes.cli import CONVERTERS, RECIPES, main
from tests.test_bert_training import CORPUS
from tests.test_hub import hub  # noqa: F401  (fixture)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(*args, env=None):
    """Runs the command in a subprocess when it needs its own environment (a Hub endpoint), in-process otherwise."""
    if env is not None:
        done = subprocess.run([sys.executable, "-m", "hf_nlpnotes.cli", *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=600)
        return Result(done.returncode, done.stdout, done.stderr)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main([str(arg) for arg in args])
        except SystemExit as exit_:
            code = exit_.code or 0
    return Result(code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder written by `hf-nlpnotes train mlm` on a tiny preset."""
    folder = tmp_path_factory.mktemp("cli")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(CORPUS * 3) + "\n")
    out = folder / "bert"
    done = cli("train", "mlm", "--preset", "bert-tiny", "--train_file", corpus, "--output_dir", out, "--vocab_size", "150",
               "--max_seq_length", "32", "--max_steps", "4", "--batch_size", "8", "--eval_fraction", "0.1",
               "--logging_steps", "1", "--time_budget_minutes", "0")
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "hf-nlpnotes"
    if not script.exists():
        pytest.skip("the package is not installed in this environment (no hf-nlpnotes console script)")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "train" in done.stdout and "push" in done.stdout


@pytest.mark.parametrize(
    "args",
    [["--help"], ["train", "--help"], ["convert", "--help"], ["push", "--help"], ["info", "--help"]]
    + [["train", recipe, "--help"] for recipe in RECIPES]
    + [["convert", architecture, "--help"] for architecture in CONVERTERS],
)
def test_help_for_every_command(args):
    done = cli(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout.lower()


def test_train_then_info(trained):
    assert (trained / "model.safetensors").is_file() and (trained / "loss_curve.png").is_file()
    done = cli("info", trained)
    assert done.returncode == 0, done.stderr
    model = NotesBertForMaskedLM.from_pretrained(trained)
    assert "model_type:    notes_bert" in done.stdout
    assert "NotesBertForMaskedLM" in done.stdout
    assert "preset:        bert-tiny" in done.stdout
    assert f"parameters:    {model.num_parameters():,}" in done.stdout
    assert "model.safetensors" in done.stdout and "loads without hf_nlpnotes: yes" in done.stdout


def test_convert_bert(tmp_path):
    source = tmp_path / "hf"
    transformers.BertForMaskedLM(transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1,
                                                         num_attention_heads=2, intermediate_size=20)).save_pretrained(source)
    (source / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(35)]) + "\n")
    done = cli("convert", "bert", source, tmp_path / "notes")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "notes" / "config.json").read_text())["model_type"] == "notes_bert"
    again = cli("convert", "bert", source, tmp_path / "notes")
    assert again.returncode == 1 and "overwrite" in again.stderr
    assert cli("convert", "bert", source, tmp_path / "notes", "--overwrite").returncode == 0


def test_push_uploads_code_and_card(trained, hub):
    server, env = hub
    done = cli("push", trained, "tester/cli-bert", "--dataset", "toy verses", env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    files = server.repos["tester/cli-bert"].resolve("main").files
    assert {"model.safetensors", "config.json", "modeling_notes_bert.py", "tokenizer.json", "loss_curve.png"} <= set(files)
    assert not any(name.startswith("checkpoints") or name.endswith(".bin") for name in files)
    card = ModelCard(files["README.md"].decode())
    assert "hf_nlpnotes" in card.data.tags and card.data.datasets == ["toy verses"]
    assert "training loss" in card.text  # from the trainer_state.json the recipe saved


def test_push_keeps_a_card_the_user_wrote(trained, hub, tmp_path):
    server, env = hub
    folder = tmp_path / "mine"
    NotesBertForMaskedLM.from_pretrained(trained).save_pretrained(folder)
    (folder / "README.md").write_text("# My own card\n\nWritten by hand.\n")
    assert cli("push", folder, "tester/own-card", env=env).returncode == 0
    assert server.repos["tester/own-card"].resolve("main").files["README.md"].decode() == "# My own card\n\nWritten by hand.\n"


@pytest.mark.parametrize(
    "args,message",
    [
        (["info", "/nonexistent/folder"], "folder not found"),
        (["push", "/nonexistent/folder", "tester/x"], "folder not found"),
        (["train", "mlm", "--preset", "bert-gigantic", "--output_dir", "{tmp}/o"], "unknown preset 'bert-gigantic'"),
        (["convert", "bert", "/nonexistent/src", "{tmp}/o"], "source folder not found"),
    ],
)
def test_clear_errors(args, message, tmp_path):
    done = cli(*[arg.replace("{tmp}", str(tmp_path)) for arg in args])
    assert done.returncode == 1, done.stderr[-2000:]
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_info_rejects_folders_that_are_not_ours(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    done = cli("info", tmp_path)
    assert done.returncode == 1 and "not an hf_nlpnotes one" in done.stderr
    (tmp_path / "config.json").write_text("{not json")
    assert "not valid JSON" in cli("info", tmp_path).stderr
    assert load_preset("bert-tiny").num_hidden_layers == 2
