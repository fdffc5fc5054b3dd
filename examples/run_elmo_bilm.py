"""Pretrain a small ELMo biLM with Trainer: word vocabulary, training, forward/backward perplexity, save, reload.

Default corpus: the World English Bible (apt-get install sword-text-web; pip install pysword), one verse a line.
Any UTF-8 text file with one sentence (or paragraph) a line works with --train_file.

    python examples/run_elmo_bilm.py --output_dir outputs/elmo-web
    python examples/run_elmo_bilm.py --train_file my_corpus.txt --preset elmo-small --max_steps 2000 \
        --sampled_softmax 1024 --output_dir outputs/elmo-mine

The defaults (elmo-tiny widened to 64/256, 300 steps, 4-minute budget) finish in a few minutes on 2 CPU cores.
"""

import argparse
import math
import random

import torch
from datasets import Dataset
from transformers import AutoModelForPreTraining, AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments, set_seed
from transformers.utils import logging

import hf_nlpnotes
from hf_nlpnotes import NotesElmoForBidirectionalLM, NotesElmoTokenizer
from hf_nlpnotes.plotting import plot_loss_curve
from hf_nlpnotes.training import TimeBudgetCallback, prepare_output_dir, read_text_lines

logger = logging.get_logger("run_elmo_bilm")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="elmo-tiny", help="a notes_elmo preset (see hf_nlpnotes.list_presets())")
    parser.add_argument("--projection_dim", type=int, default=64, help="override of the preset (0: keep the preset's)")
    parser.add_argument("--lstm_cell_size", type=int, default=256, help="override of the preset (0: keep the preset's)")
    parser.add_argument("--lstm_implementation", choices=("exact", "fast"), default="exact")
    parser.add_argument("--train_file", default=None, help="UTF-8 text, one sentence a line (default: WEB Bible)")
    parser.add_argument("--output_dir", default="outputs/elmo-bilm")
    parser.add_argument("--overwrite_output_dir", action="store_true")
    parser.add_argument("--max_lines", type=int, default=20000, help="use at most this many lines of the corpus")
    parser.add_argument("--eval_fraction", type=float, default=0.02)
    parser.add_argument("--vocab_size", type=int, default=8000, help="word vocabulary size, specials included")
    parser.add_argument("--max_words", type=int, default=40, help="words per training sentence, boundaries included")
    parser.add_argument("--sampled_softmax", type=int, default=0, help="negatives per batch (0: full softmax)")
    parser.add_argument("--max_steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=3e-3)
    parser.add_argument("--time_budget_minutes", type=float, default=4.0, help="stop training after this long (<=0: none)")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def load_lines(args) -> list[str]:
    if args.train_file is None:
        from hf_nlpnotes.data.bible import bible_text_file

        path = bible_text_file()
    else:
        path = args.train_file
    lines = read_text_lines(path)
    random.Random(args.seed).shuffle(lines)
    return lines[: args.max_lines]


@torch.no_grad()
def perplexities(model, dataset, collator, batch_size: int = 64) -> dict[str, float]:
    """Per-direction perplexity: exp of the mean cross-entropy over every predicted word (full softmax)."""
    model.eval()
    totals = {"forward": 0.0, "backward": 0.0}
    counts = {"forward": 0, "backward": 0}
    for start in range(0, len(dataset), batch_size):
        batch = collator([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
        batch = {key: value.to(model.device) for key, value in batch.items()}
        output = model(**batch)
        labels = batch["labels"]
        for direction, targets in (("forward", labels[:, 1:]), ("backward", labels[:, :-1])):
            count = int((targets != -100).sum())
            totals[direction] += getattr(output, f"{direction}_loss").item() * count
            counts[direction] += count
    return {f"{direction}_perplexity": math.exp(totals[direction] / counts[direction]) for direction in totals}


def main(argv=None):
    args = parse_args(argv)
    set_seed(args.seed)
    output_dir = prepare_output_dir(args.output_dir, args.overwrite_output_dir)
    lines = load_lines(args)
    num_eval = max(1, int(len(lines) * args.eval_fraction))
    train_lines, eval_lines = lines[num_eval:], lines[:num_eval]

    # the word vocabulary (for the softmax) comes from the training lines only
    tokenizer = NotesElmoTokenizer.build_from_texts(train_lines, max_vocab_size=args.vocab_size, split_punctuation=True)
    overrides = {"vocab_size": tokenizer.vocab_size, "sampled_softmax_num_samples": args.sampled_softmax,
                 "lstm_implementation": args.lstm_implementation}  # fmt: skip
    if args.projection_dim > 0:
        overrides["projection_dim"] = args.projection_dim
    if args.lstm_cell_size > 0:
        overrides["lstm_cell_size"] = args.lstm_cell_size
    config = hf_nlpnotes.load_preset(args.preset, **overrides)
    model = NotesElmoForBidirectionalLM(config)
    logger.warning(f"{len(train_lines)} training / {len(eval_lines)} eval lines, {tokenizer.vocab_size} words, "
                   f"{model.num_parameters() / 1e6:.2f}M parameters")  # fmt: skip

    def encode(batch):
        return tokenizer(batch["text"], return_lm_labels=True, truncation=True, max_length=args.max_words)

    train_set = Dataset.from_dict({"text": train_lines}).map(encode, batched=True, remove_columns=["text"])
    eval_set = Dataset.from_dict({"text": eval_lines}).map(encode, batched=True, remove_columns=["text"])
    collator = DataCollatorWithPadding(tokenizer)

    before = perplexities(model, eval_set, collator)
    training_args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=args.learning_rate,
        max_grad_norm=10.0,  # bilm-tf's all_clip_norm_val
        warmup_steps=0.05,
        logging_steps=10,
        eval_strategy="steps",
        eval_steps=max(1, args.max_steps // 4),
        prediction_loss_only=True,  # the logits over the vocabulary are not needed to evaluate
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        use_cpu=not torch.cuda.is_available(),
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[TimeBudgetCallback(args.time_budget_minutes)],
    )
    trainer.train()
    after = perplexities(model, eval_set, collator)
    print(f"eval perplexity before training: forward {before['forward_perplexity']:.1f}, "
          f"backward {before['backward_perplexity']:.1f}")  # fmt: skip
    print(f"eval perplexity after {trainer.state.global_step} steps: forward {after['forward_perplexity']:.1f}, "
          f"backward {after['backward_perplexity']:.1f}")  # fmt: skip

    if not trainer.is_world_process_zero():  # under torchrun the main process saves and reports
        return {}
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    plot_loss_curve(trainer.state.log_history, output_dir / "loss_curve.png", title="ELMo biLM: mean of both directions")

    # reload through the Auto classes: the same numbers come back
    reloaded = AutoModelForPreTraining.from_pretrained(output_dir)
    reloaded_tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert isinstance(reloaded, NotesElmoForBidirectionalLM) and isinstance(reloaded_tokenizer, NotesElmoTokenizer)
    again = perplexities(reloaded, eval_set, DataCollatorWithPadding(reloaded_tokenizer))
    print(f"reloaded from {output_dir}: forward {again['forward_perplexity']:.1f}, backward {again['backward_perplexity']:.1f}")
    return {**after, "output_dir": str(output_dir)}


if __name__ == "__main__":
    main()
