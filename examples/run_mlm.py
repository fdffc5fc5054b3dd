"""Pretrain a BERT from scratch with masked-LM (optionally + next-sentence prediction) using Trainer.

Default: the World English Bible (apt-get install sword-text-web; read with pysword), a WordPiece tokenizer trained
on the same text, the bert-mini preset, about 4 minutes on 2 CPU cores. Any text file with one document per line
works with --train_file.

    python examples/run_mlm.py --preset bert-mini --output_dir outputs/bert-mini-web
    python examples/run_mlm.py --nsp --train_file my_corpus.txt --output_dir outputs/bert-nsp

Afterwards the saved folder is reloaded through AutoModelForMaskedLM / AutoTokenizer, fill-mask predictions are
printed for a few sentences, eval perplexity is reported and a loss curve is written to OUTPUT_DIR/loss_curve.png.
"""

import argparse
import math
import random

import torch
from accelerate import PartialState
from datasets import Dataset
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)
import hf_nlpnotes
from hf_nlpnotes import NotesBertForMaskedLM, NotesBertForPreTraining, NotesBertTokenizer
from hf_nlpnotes.plotting import plot_loss_curve
from hf_nlpnotes.training import (
    ReplicaConsistencyCallback,
    TimeBudgetCallback,
    build_on_main_process,
    prepare_output_dir,
    read_text_lines,
)

DEMO_SENTENCES = [
    "In the beginning God created the [MASK] and the earth.",
    "The Lord is my [MASK]; I shall not want.",
    "Jesus said to them, I am the [MASK] of life.",
    "And God said, Let there be [MASK].",
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="bert-mini", help=f"one of {hf_nlpnotes.list_presets('notes_bert')}")
    parser.add_argument("--train_file", default=None, help="text file, one document per line (default: the WEB Bible)")
    parser.add_argument("--output_dir", default="outputs/bert-mlm")
    parser.add_argument("--overwrite_output_dir", action="store_true")
    parser.add_argument("--nsp", action="store_true", help="also train next-sentence prediction (NotesBertForPreTraining)")
    parser.add_argument("--vocab_size", type=int, default=8000)
    parser.add_argument("--max_seq_length", type=int, default=64)
    parser.add_argument("--max_steps", type=int, default=400)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--warmup_steps", type=int, default=40)
    parser.add_argument("--logging_steps", type=int, default=10)
    parser.add_argument("--eval_fraction", type=float, default=0.02)
    parser.add_argument("--max_eval_examples", type=int, default=256)
    parser.add_argument("--time_budget_minutes", type=float, default=3.5, help="stop training after this long (<=0: no limit)")
    parser.add_argument("--attn_implementation", default="sdpa", choices=["eager", "sdpa"])
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def load_corpus(train_file):
    if train_file is None:
        from hf_nlpnotes.data.bible import bible_text_file

        train_file = bible_text_file()
    return read_text_lines(train_file, min_chars=2)


def mlm_blocks(lines, tokenizer, block_size):
    """Concatenate the tokenised documents and cut them into [CLS] ... [SEP] blocks of `block_size` tokens, so no
    compute is spent on padding (the usual recipe for MLM pretraining)."""
    # whole documents are tokenised first and cut into blocks below, so their length is not an error here
    encoded = tokenizer(lines, add_special_tokens=False, verbose=False)["input_ids"]
    stream = [token for ids in encoded for token in ids]
    body = block_size - 2
    blocks = [
        [tokenizer.cls_token_id] + stream[start : start + body] + [tokenizer.sep_token_id]
        for start in range(0, len(stream) - body + 1, body)
    ]
    return Dataset.from_dict({"input_ids": blocks})


def nsp_pairs(lines, tokenizer, max_length, seed):
    """Sentence pairs for next-sentence prediction: B follows A in the corpus (label 0) or is a random line (1)."""
    rng = random.Random(seed)
    first, second, labels = [], [], []
    for index in range(len(lines) - 1):
        if rng.random() < 0.5:
            first.append(lines[index]), second.append(lines[index + 1]), labels.append(0)
        else:
            first.append(lines[index]), second.append(lines[rng.randrange(len(lines))]), labels.append(1)
    encoded = tokenizer(first, second, truncation="longest_first", max_length=max_length, return_special_tokens_mask=True)
    encoded["next_sentence_label"] = labels
    return Dataset.from_dict(dict(encoded))


def main(argv=None):
    args = parse_args(argv)
    set_seed(args.seed)
    # under torchrun / accelerate launch the main process prepares the folder, the corpus cache and the tokenizer
    # (WordPiece training is not deterministic across processes), and the others load what it wrote
    distributed = PartialState()
    output_dir = prepare_output_dir(args.output_dir, args.overwrite_output_dir)
    with distributed.main_process_first():  # the main process extracts and caches the corpus first
        lines = load_corpus(args.train_file)
    if distributed.is_main_process:
        print(f"corpus: {len(lines)} lines")
    tokenizer = build_on_main_process(
        lambda: NotesBertTokenizer.train_from_texts(lines, vocab_size=args.vocab_size),
        output_dir / "tokenizer",
        NotesBertTokenizer.from_pretrained,
    )
    config = hf_nlpnotes.load_preset(
        args.preset,
        vocab_size=len(tokenizer),
        max_position_embeddings=max(args.max_seq_length, 128),
        attn_implementation=args.attn_implementation,
    )
    model_class = NotesBertForPreTraining if args.nsp else NotesBertForMaskedLM
    model = model_class(config)
    print(f"{model_class.__name__} ({args.preset}): {model.num_parameters() / 1e6:.1f}M parameters")

    dataset = (
        nsp_pairs(lines, tokenizer, args.max_seq_length, args.seed)
        if args.nsp
        else mlm_blocks(lines, tokenizer, args.max_seq_length)
    )
    split = dataset.train_test_split(test_size=args.eval_fraction, seed=args.seed)
    eval_dataset = split["test"].select(range(min(args.max_eval_examples, len(split["test"]))))
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)  # 80% [MASK], 10% random, 10% kept

    training_args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=args.learning_rate,
        weight_decay=0.01,
        warmup_steps=args.warmup_steps,
        lr_scheduler_type="linear",
        logging_steps=args.logging_steps,
        eval_strategy="steps",
        eval_steps=max(args.max_steps // 4, 1),
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        dataloader_num_workers=0,
        use_cpu=not torch.cuda.is_available(),
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=split["train"],
        eval_dataset=eval_dataset,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[TimeBudgetCallback(args.time_budget_minutes), ReplicaConsistencyCallback()],
    )
    trainer.train()
    metrics = trainer.evaluate()
    perplexity = math.exp(metrics["eval_loss"])
    trainer.save_model(str(output_dir))  # model (safetensors) + tokenizer, written by the main process
    if not distributed.is_main_process:
        return {"eval_loss": metrics["eval_loss"], "perplexity": perplexity, "output_dir": str(output_dir)}
    trainer.state.save_to_json(str(output_dir / "trainer_state.json"))  # the loss history, beside the model
    print(f"eval loss {metrics['eval_loss']:.3f}, masked-LM perplexity {perplexity:.1f}")
    curve = plot_loss_curve(trainer.state.log_history, output_dir / "loss_curve.png", title=f"{args.preset} masked-LM")
    print(f"saved the model to {output_dir} and the loss curve to {curve}")

    # reload the way a user would, through the Auto classes, and fill in some blanks
    reloaded = AutoModelForMaskedLM.from_pretrained(output_dir)
    reloaded_tokenizer = AutoTokenizer.from_pretrained(output_dir)
    fill_mask = pipeline("fill-mask", model=reloaded, tokenizer=reloaded_tokenizer, top_k=5)
    for sentence in DEMO_SENTENCES:
        guesses = ", ".join(f"{p['token_str']} ({p['score']:.2f})" for p in fill_mask(sentence))
        print(f"{sentence}\n    -> {guesses}")
    return {"eval_loss": metrics["eval_loss"], "perplexity": perplexity, "output_dir": str(output_dir)}


if __name__ == "__main__":
    main()
