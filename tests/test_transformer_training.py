"""NotesTransformer with Seq2SeqTrainer, the parallel-verse loader and the translation example."""

import math
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import BLOCK_PACKAGE
from datasets import Dataset
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

import hf_nlpnotes
from hf_nlpnotes import NotesTransformerForConditionalGeneration, NotesTransformerTokenizer
from hf_nlpnotes.data.parallel import align_verses, read_pairs, split_pairs

REPO = Path(__file__).resolve().parents[1]
PAIRS = [
    ("In the beginning God created the heavens and the earth.", "En el principio creó Dios los cielos y la tierra."),
    ("And God said, Let there be light.", "Y dijo Dios: Sea la luz."),
    ("And God saw the light, that it was good.", "Y vió Dios que la luz era buena."),
    ("The earth was formless and empty.", "Y la tierra estaba desordenada y vacía."),
]


def test_seq2seq_trainer_lowers_the_loss_and_predicts_with_generate(tmp_path):
    torch.manual_seed(0)
    tokenizer = NotesTransformerTokenizer.train_from_pairs(PAIRS * 3, vocab_size=200, min_frequency=1)
    config = hf_nlpnotes.load_preset("transformer-tiny", vocab_size=len(tokenizer), dropout=0.0)
    model = NotesTransformerForConditionalGeneration(config)
    sources, targets = zip(*PAIRS)
    dataset = Dataset.from_dict({"source": list(sources), "target": list(targets)}).map(
        lambda batch: tokenizer(batch["source"], text_target=batch["target"]),
        batched=True,
        remove_columns=["source", "target"],
    )
    args = Seq2SeqTrainingArguments(
        output_dir=str(tmp_path),
        max_steps=40,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        learning_rate=3e-3,
        logging_steps=5,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        predict_with_generate=True,
        generation_max_length=24,
        seed=0,
    )
    trainer = Seq2SeqTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        eval_dataset=dataset,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        processing_class=tokenizer,
    )
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    assert math.isfinite(after) and after < before - 1.0
    prediction = trainer.predict(dataset)
    assert prediction.predictions.shape[0] == len(PAIRS)
    decoded = tokenizer.batch_decode(
        [[t for t in row if t >= 0] for row in prediction.predictions], skip_special_tokens=True
    )
    # 40 steps on four pairs: the model has memorised at least part of the targets
    overlap = sum(len(set(d.split()) & set(t.split())) for d, t in zip(decoded, targets))
    assert overlap >= 4


def test_align_verses_joins_on_book_chapter_verse(tmp_path):
    english = tmp_path / "en.tsv"
    spanish = tmp_path / "es.tsv"
    english.write_text("Gen\t1\t1\tIn the beginning.\nGen\t1\t2\tThe earth.\nGen\t1\t3\tOnly English.\n", "utf-8")
    spanish.write_text("Gen\t1\t2\tLa tierra.\nGen\t1\t1\tEn el principio.\nExod\t1\t1\tSólo español.\n", "utf-8")
    output = tmp_path / "pairs.tsv"
    assert align_verses(english, spanish, output) == 2
    assert read_pairs(output) == [("In the beginning.", "En el principio."), ("The earth.", "La tierra.")]
    train, held_out = split_pairs(read_pairs(output) * 5, test_size=3)
    assert len(train) == 7 and len(held_out) == 3
    bad = tmp_path / "bad.tsv"
    bad.write_text("no tab here\n", "utf-8")
    with pytest.raises(ValueError, match="bad.tsv:1"):
        read_pairs(bad)


def test_translation_example_runs_end_to_end(tmp_path):
    sys.path.insert(0, str(REPO / "examples"))
    import run_translation

    pairs_file = tmp_path / "pairs.tsv"
    pairs_file.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS * 6), "utf-8")
    output_dir = tmp_path / "out"
    metrics = run_translation.main(
        [
            "--preset", "transformer-tiny",
            "--train_file", str(pairs_file),
            "--output_dir", str(output_dir),
            "--max_steps", "3",
            "--eval_pairs", "4",
            "--vocab_size", "150",
            "--batch_size", "8",
            "--num_beams", "2",
            "--max_length", "32",
        ]
    )
    assert "eval_bleu" in metrics
    for name in ("model.safetensors", "tokenizer.json", "loss_curve.png", "attention_maps.png"):
        assert (output_dir / name).exists(), name
    with pytest.raises(FileExistsError, match="not empty; pass --overwrite_output_dir"):
        run_translation.main(["--train_file", str(pairs_file), "--output_dir", str(output_dir)])


def test_translation_pipelines_match_generate(tmp_path):
    from transformers import pipeline

    torch.manual_seed(0)
    tokenizer = NotesTransformerTokenizer.train_from_pairs(PAIRS * 3, vocab_size=200, min_frequency=1)
    config = hf_nlpnotes.load_preset("transformer-tiny", vocab_size=len(tokenizer), tie_word_embeddings=False)
    model = NotesTransformerForConditionalGeneration(config).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    sources = [source for source, _ in PAIRS[:2]]
    expected = tokenizer.batch_decode(
        model.generate(**tokenizer(sources, return_tensors="pt", padding=True), max_new_tokens=6, num_beams=2),
        skip_special_tokens=True,
    )
    translator = pipeline("translation", model=str(tmp_path))
    assert translator(sources[0], max_new_tokens=6, num_beams=2) == [{"translation_text": expected[0]}]
    assert translator(sources, max_new_tokens=6, num_beams=2) == [{"translation_text": text} for text in expected]
    generator = pipeline("text2text-generation", model=model, tokenizer=tokenizer)
    assert generator(sources, max_new_tokens=6, num_beams=2) == [{"generated_text": text} for text in expected]


def test_saved_folder_loads_without_the_package(tmp_path):
    """save_pretrained copies the code: a process that cannot import hf_nlpnotes loads it with trust_remote_code."""
    import json
    import os
    import subprocess

    torch.manual_seed(0)
    tokenizer = NotesTransformerTokenizer.train_from_pairs(PAIRS * 3, vocab_size=200, min_frequency=1)
    config = hf_nlpnotes.load_preset("transformer-tiny", vocab_size=len(tokenizer), tie_word_embeddings=False)
    model = NotesTransformerForConditionalGeneration(config).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert {"AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"} <= set(auto_map)
    inputs = tokenizer([PAIRS[0][0], PAIRS[1][0]], return_tensors="pt", padding=True)
    expected = model.generate(**inputs, max_new_tokens=6, num_beams=2).tolist()

    code = BLOCK_PACKAGE + f"""
import json, sys
from transformers import AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer
folder = {str(tmp_path)!r}
tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
model = AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True).eval()
AutoModel.from_pretrained(folder, trust_remote_code=True)
inputs = tokenizer({[PAIRS[0][0], PAIRS[1][0]]!r}, return_tensors="pt", padding=True)
print(json.dumps(model.generate(**inputs, max_new_tokens=6, num_beams=2).tolist()))
"""
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == expected


def test_learns_to_reverse_sequences_through_cross_attention():
    """Reversing the source is impossible without cross-attention: a tiny model must learn it and generate it."""
    torch.manual_seed(0)
    config = hf_nlpnotes.NotesTransformerConfig(
        vocab_size=24,
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        dropout=0.0,
        label_smoothing=0.0,
        max_position_embeddings=16,
    )
    model = NotesTransformerForConditionalGeneration(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.98), eps=1e-9)
    eos = torch.full((64, 1), config.eos_token_id)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, and immune to a busy machine
    try:
        for _ in range(200):
            source = torch.randint(4, 24, (64, 6))
            loss = model(input_ids=source, labels=torch.cat([source.flip(1), eos], 1)).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    source = torch.randint(4, 24, (32, 6))
    generated = model.generate(source, max_new_tokens=7)
    exact = (generated[:, 1:7] == source.flip(1)).all(1).float().mean().item()
    assert exact >= 0.9, f"only {exact:.0%} of the sequences were reversed exactly (loss {loss.item():.3f})"
    assert (generated[:, 7] == config.eos_token_id).float().mean() >= 0.9


def test_translation_example_uses_the_papers_learning_rate_schedule():
    sys.path.insert(0, str(REPO / "examples"))
    import run_translation

    d_model, warmup = 512, 4000
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    scheduler = run_translation.noam_schedule(optimizer, d_model, warmup)
    rates = {}
    for step in range(1, 8001):
        optimizer.step()
        scheduler.step()
        rates[step] = optimizer.param_groups[0]["lr"]
    for step in (1, 100, 3999, 4000, 4001, 8000):
        expected = d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)
        assert math.isclose(rates[step], expected, rel_tol=1e-9), step
    assert max(rates, key=rates.get) == warmup  # linear warm-up, then inverse-square-root decay
