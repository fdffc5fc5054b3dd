"""NotesTransformer with Seq2SeqTrainer, the parallel-verse loader and the translation example."""

import math
import sys
from pathlib import Path

import pytest
import torch
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
    with pytest.raises(SystemExit, match="overwrite_output_dir"):
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
    translator = pipeline("notes-translation", model=str(tmp_path))
    assert translator(sources[0], max_new_tokens=6, num_beams=2) == [{"translation_text": expected[0]}]
    assert translator(sources, max_new_tokens=6, num_beams=2) == [{"translation_text": text} for text in expected]
    generator = pipeline("notes-text2text-generation", model=model, tokenizer=tokenizer)
    assert generator(sources, max_new_tokens=6, num_beams=2) == [{"generated_text": text} for text in expected]
