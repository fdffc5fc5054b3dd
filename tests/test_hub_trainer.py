"""Trainer with push_to_hub=True shares code and card; a checkpoint resumes training where hf_nlpnotes is absent."""

import json
import textwrap

from huggingface_hub import ModelCard

from tests.conftest import BLOCK_PACKAGE
from tests.test_hub import hub, run_python  # noqa: F401  (hub is a fixture)

TRAIN = """
import torch
from datasets import Dataset
from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments
texts = ["in the beginning god created the heavens and the earth", "god said let there be light and there was light"] * 16
"""


def test_trainer_push_carries_code_and_card(hub, tmp_path):
    server, env = hub
    code = textwrap.dedent(
        """
        import hf_nlpnotes
        from hf_nlpnotes import NotesBertConfig, NotesBertForMaskedLM, NotesBertTokenizer
        """
    ) + textwrap.dedent(TRAIN) + textwrap.dedent(
        f"""
        tokenizer = NotesBertTokenizer.train_from_texts(texts, vocab_size=80, min_frequency=1, show_progress=False)
        model = NotesBertForMaskedLM(NotesBertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=40))
        args = TrainingArguments(output_dir=r"{tmp_path / 'run'}", max_steps=4, save_steps=2, logging_steps=1, eval_strategy="steps",
                                 eval_steps=2, per_device_train_batch_size=8, report_to="none", use_cpu=True,
                                 push_to_hub=True, hub_model_id="tester/trained-bert", hub_strategy="every_save")
        data = Dataset.from_dict(dict(tokenizer(texts)))
        trainer = Trainer(model=model, args=args, train_dataset=data, eval_dataset=data.select(range(8)),
                          data_collator=DataCollatorForLanguageModeling(tokenizer, seed=0), processing_class=tokenizer)
        trainer.train()
        trainer.push_to_hub(dataset="toy verses")
        """
    )
    run_python(code, env)
    repo = server.repos["tester/trained-bert"]
    checkpoint_pushes = [c for c in repo.commits.values() if c.summary.startswith("Training in progress")]
    assert checkpoint_pushes, [c.summary for c in repo.commits.values()]
    for commit in checkpoint_pushes:  # even mid-training the repo loads without the package
        assert "modeling_notes_bert.py" in commit.files and "notes_attention.py" in commit.files
    final = repo.resolve("main").files
    card = ModelCard(final["README.md"].decode())
    assert "hf_nlpnotes" in card.data.tags and card.data.pipeline_tag == "fill-mask"
    assert card.data.datasets == ["toy verses"]
    assert "steps: 4" in card.text and "| perplexity |" in card.text
    assert json.loads(final["config.json"])["auto_map"]["AutoModel"] == "modeling_notes_bert.NotesBertModel"


def test_resume_from_checkpoint_without_the_package(tmp_path):
    env_code = textwrap.dedent(
        """
        import hf_nlpnotes
        from hf_nlpnotes import NotesBertConfig, NotesBertForMaskedLM, NotesBertTokenizer
        """
    ) + textwrap.dedent(TRAIN) + textwrap.dedent(
        f"""
        tokenizer = NotesBertTokenizer.train_from_texts(texts, vocab_size=80, min_frequency=1, show_progress=False)
        model = NotesBertForMaskedLM(NotesBertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=40))
        args = TrainingArguments(output_dir=r"{tmp_path / 'run'}", max_steps=3, save_steps=3, per_device_train_batch_size=8,
                                 report_to="none", use_cpu=True)
        Trainer(model=model, args=args, train_dataset=Dataset.from_dict(dict(tokenizer(texts))),
                data_collator=DataCollatorForLanguageModeling(tokenizer, seed=0), processing_class=tokenizer).train()
        """
    )
    import os

    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home")}
    run_python(env_code, env)
    checkpoint = tmp_path / "run" / "checkpoint-3"
    assert (checkpoint / "modeling_notes_bert.py").is_file() and (checkpoint / "tokenization_notes_bert.py").is_file()
    resume = BLOCK_PACKAGE + textwrap.dedent(TRAIN) + textwrap.dedent(
        f"""
        import sys
        from transformers import AutoModelForMaskedLM, AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(r"{checkpoint}", trust_remote_code=True)
        model = AutoModelForMaskedLM.from_pretrained(r"{checkpoint}", trust_remote_code=True)
        args = TrainingArguments(output_dir=r"{tmp_path / 'run'}", max_steps=6, save_steps=3, per_device_train_batch_size=8,
                                 report_to="none", use_cpu=True)
        trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_dict(dict(tokenizer(texts))),
                          data_collator=DataCollatorForLanguageModeling(tokenizer, seed=0), processing_class=tokenizer)
        trainer.train(resume_from_checkpoint=r"{checkpoint}")
        assert "hf_nlpnotes" not in sys.modules
        print(trainer.state.global_step)
        """
    )
    assert run_python(resume, env).strip().splitlines()[-1] == "6"
    assert (tmp_path / "run" / "checkpoint-6" / "model.safetensors").is_file()
