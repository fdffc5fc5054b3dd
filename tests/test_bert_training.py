"""Trainer lowers the loss; every pipeline runs; the example scripts work end to end on tiny settings."""

import csv
import importlib.util
import json

import pytest
import torch
from datasets import Dataset
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    Trainer,
    TrainingArguments,
    pipeline,
)

from hf_nlpnotes import (
    NotesBertConfig,
    NotesBertForMaskedLM,
    NotesBertForQuestionAnswering,
    NotesBertForSequenceClassification,
    NotesBertForTokenClassification,
    NotesBertModel,
    NotesBertTokenizer,
)
from tests.conftest import REPO_ROOT

CORPUS = [
    "in the beginning god created the heavens and the earth",
    "the earth was formless and empty and darkness was on the surface of the deep",
    "god said let there be light and there was light",
    "god saw the light and saw that it was good",
    "god divided the light from the darkness",
    "god called the light day and the darkness he called night",
] * 8


@pytest.fixture(scope="module")
def tokenizer():
    return NotesBertTokenizer.train_from_texts(CORPUS, vocab_size=120, min_frequency=1, show_progress=False)


def tiny_config(tokenizer, **extra):
    return NotesBertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, **extra,
    )


def test_trainer_lowers_the_masked_lm_loss(tokenizer, tmp_path):
    model = NotesBertForMaskedLM(tiny_config(tokenizer))
    dataset = Dataset.from_dict(dict(tokenizer(CORPUS)))
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=0)
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=40, per_device_train_batch_size=16, learning_rate=3e-3,
        logging_steps=5, report_to="none", save_strategy="no", use_cpu=True, seed=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert losses[-1] < 0.8 * losses[0], losses


def save_tiny(model_class, tokenizer, folder, **config_extra):
    model_class(tiny_config(tokenizer, **config_extra)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_fill_mask_pipeline(tokenizer, tmp_path):
    folder = save_tiny(NotesBertForMaskedLM, tokenizer, tmp_path)
    predictions = pipeline("fill-mask", model=folder, top_k=3)("god said let there be [MASK]")
    assert len(predictions) == 3 and {"score", "token_str", "sequence"} <= set(predictions[0])


def test_feature_extraction_pipeline(tokenizer, tmp_path):
    folder = save_tiny(NotesBertModel, tokenizer, tmp_path)
    features = pipeline("feature-extraction", model=folder)("the light was good")
    length = len(tokenizer("the light was good")["input_ids"])
    assert torch.tensor(features).shape == (1, length, 32)


def test_text_classification_pipeline(tokenizer, tmp_path):
    folder = save_tiny(NotesBertForSequenceClassification, tokenizer, tmp_path, num_labels=2, id2label={0: "neg", 1: "pos"})
    result = pipeline("text-classification", model=folder)("the light was good")
    assert result[0]["label"] in {"neg", "pos"}


def test_token_classification_pipeline(tokenizer, tmp_path):
    folder = save_tiny(NotesBertForTokenClassification, tokenizer, tmp_path, num_labels=3, id2label={0: "O", 1: "B", 2: "I"})
    result = pipeline("token-classification", model=folder)("god created the heavens")
    assert result and all(entry["entity"] in {"O", "B", "I"} for entry in result)


def test_question_answering_pipeline(tokenizer, tmp_path):
    folder = save_tiny(NotesBertForQuestionAnswering, tokenizer, tmp_path)
    answer = pipeline("question-answering", model=folder)(
        question="what did god create", context="in the beginning god created the heavens and the earth"
    )
    assert {"answer", "start", "end", "score"} <= set(answer)
    assert answer["answer"] in "in the beginning god created the heavens and the earth"


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("nsp", [False, True])
def test_run_mlm_example_end_to_end(tmp_path, nsp):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS * 3) + "\n")
    out = tmp_path / "out"
    argv = ["--preset", "bert-tiny", "--train_file", str(corpus), "--output_dir", str(out), "--vocab_size", "150",
            "--max_seq_length", "32", "--max_steps", "6", "--batch_size", "8", "--eval_fraction", "0.1",
            "--time_budget_minutes", "0"]
    result = load_example("run_mlm").main(argv + (["--nsp"] if nsp else []))
    assert (out / "model.safetensors").is_file() and (out / "loss_curve.png").stat().st_size > 1000
    assert result["perplexity"] > 1
    assert type(AutoModelForMaskedLM.from_pretrained(out)).__name__ == "NotesBertForMaskedLM"
    assert type(AutoTokenizer.from_pretrained(out)) is NotesBertTokenizer
    with pytest.raises(FileExistsError, match="overwrite"):
        load_example("run_mlm").main(argv)


def test_run_classification_example_on_a_csv(tmp_path):
    data = tmp_path / "data.csv"
    with open(data, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence", "sentiment"])
        for index in range(60):
            writer.writerow(["the light was good and bright" if index % 2 else "the darkness was empty", "pos" if index % 2 else "neg"])
    out = tmp_path / "out"
    result = load_example("run_classification").main(
        ["--preset", "bert-tiny", "--train_file", str(data), "--text_column", "sentence", "--label_column", "sentiment",
         "--output_dir", str(out), "--vocab_size", "100", "--max_steps", "15", "--batch_size", "8",
         "--learning_rate", "3e-3", "--time_budget_minutes", "0"]
    )
    assert result["accuracy"] == 1.0  # a trivially separable task: anything less means training is broken
    assert json.loads((out / "config.json").read_text())["id2label"] == {"0": "neg", "1": "pos"}


def test_time_budget_callback_treats_zero_or_negative_as_no_limit():
    from transformers import TrainerControl, TrainerState

    from hf_nlpnotes.training import TimeBudgetCallback

    for minutes in (None, 0, -1):
        assert TimeBudgetCallback(minutes).seconds is None
    expired = TimeBudgetCallback(1e-9)
    expired.on_train_begin(None, TrainerState(), TrainerControl())
    assert expired.on_step_end(None, TrainerState(), TrainerControl()).should_training_stop
