"""Train the Transformer (Vaswani et al., 2017) for translation with Seq2SeqTrainer and the paper's recipe.

Default data: English → Spanish verse pairs of the World English Bible and the Reina-Valera 1909
(`apt-get install sword-text-web sword-text-sparv`, `pip install pysword`); any TSV of `source<TAB>target` lines
works via --train_file. A shared BPE vocabulary is learned on the training pairs; the model is trained with
label smoothing, Adam(β = 0.9, 0.98, ε = 1e-9) and lr = factor · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5),
evaluated with BLEU (sacrebleu) on a held-out split using generate(), saved, reloaded through the Auto classes, and
used to translate a few sentences. Writes loss_curve.png and attention_maps.png to --output_dir.

The defaults (the "transformer-small" preset, 6,000 short pairs, 300 steps of 16 pairs) finish in a few minutes on
2 CPU cores; the BLEU of such a short run is low — raise --max_steps / --max_pairs (and use --preset
transformer-base on a GPU) for real translations.

    python examples/run_translation.py --output_dir out/translation
"""

import argparse
import os
import sys
from pathlib import Path

import torch
from datasets import Dataset
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    pipeline,
    set_seed,
)
from transformers.utils import logging

import hf_nlpnotes
from hf_nlpnotes import NotesTransformerForConditionalGeneration, NotesTransformerTokenizer
from hf_nlpnotes.data.parallel import english_spanish_pairs_file, read_pairs, split_pairs
from hf_nlpnotes.plotting import plot_attention_maps, plot_loss_curve
from hf_nlpnotes.training import TimeBudgetCallback, build_on_main_process, prepare_output_dir

try:  # installed: the examples ship as the package hf_nlpnotes._examples
    from .plot_transformer_attention import attention_maps
except ImportError:  # run as a script from examples/
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from plot_transformer_attention import attention_maps

logger = logging.get_logger("run_translation")

EXAMPLE_SENTENCES = [
    "In the beginning God created the heavens and the earth.",
    "And God said, Let there be light.",
    "Love your neighbor as yourself.",
]


def noam_schedule(optimizer, d_model: int, warmup_steps: int, factor: float = 1.0):
    """The paper's schedule: linear warm-up for `warmup_steps`, then decay with the inverse square root of the step."""

    def rate(step: int) -> float:
        step = max(step, 1)
        return factor * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, rate)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preset", default="transformer-small", help="hf_nlpnotes preset (transformer-tiny/-small/-base/-big)"
    )
    parser.add_argument("--output_dir", default="out/translation")
    parser.add_argument("--overwrite_output_dir", action="store_true")
    parser.add_argument(
        "--train_file", default=None, help="TSV of source<TAB>target pairs (default: English–Spanish verses)"
    )
    parser.add_argument("--max_pairs", type=int, default=6000, help="use the first N pairs of the file (0: all)")
    parser.add_argument(
        "--max_words", type=int, default=24, help="keep pairs whose sides have at most N words (0: keep all)"
    )
    parser.add_argument("--eval_pairs", type=int, default=100, help="held-out pairs for BLEU")
    parser.add_argument("--vocab_size", type=int, default=2000, help="BPE vocabulary shared by source and target")
    parser.add_argument("--max_length", type=int, default=48, help="source / target truncation, in tokens")
    parser.add_argument("--max_steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--warmup_steps", type=int, default=80)
    parser.add_argument(
        "--lr_factor",
        type=float,
        default=0.25,
        help="multiplies the paper's learning-rate formula (1.0 is tuned for its 25k-token batches; these batches are "
        "~100x smaller, and 0.25 learned much faster than 1.0 in short CPU runs)",
    )
    parser.add_argument("--num_beams", type=int, default=4, help="beam size for evaluation and the final translations")
    parser.add_argument("--norm_type", choices=["layernorm", "batchnorm"], default=None)
    parser.add_argument("--normalize_before", action="store_true", help="pre-LN instead of the paper's post-LN")
    parser.add_argument(
        "--time_budget_minutes", type=float, default=4.0, help="stop training after this long (<=0: no limit)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.set_verbosity_warning()  # info would print every config; progress bars stay on
    logging.enable_progress_bar()
    output_dir = prepare_output_dir(args.output_dir, args.overwrite_output_dir)
    if args.threads:
        torch.set_num_threads(args.threads)
    set_seed(args.seed)

    train_file = args.train_file or english_spanish_pairs_file()
    pairs = read_pairs(train_file)
    if args.max_words:  # short pairs: faster steps, and a short run learns visibly more from them
        pairs = [pair for pair in pairs if max(len(pair[0].split()), len(pair[1].split())) <= args.max_words]
    pairs = pairs[: args.max_pairs or None]
    train_pairs, eval_pairs = split_pairs(pairs, args.eval_pairs, seed=args.seed)
    logger.warning(f"{len(train_pairs)} training pairs, {len(eval_pairs)} held-out pairs from {train_file}")

    tokenizer = build_on_main_process(
        lambda: NotesTransformerTokenizer.train_from_pairs(
            train_pairs, vocab_size=args.vocab_size, model_max_length=args.max_length
        ),
        output_dir / "tokenizer",
        NotesTransformerTokenizer.from_pretrained,
    )
    overrides = {"vocab_size": len(tokenizer), "max_position_embeddings": max(args.max_length, 16)}
    if args.norm_type:
        overrides["norm_type"] = args.norm_type
    if args.normalize_before:
        overrides["normalize_before"] = True
    config = hf_nlpnotes.load_preset(
        args.preset,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.bos_token_id,
        **overrides,
    )
    model = NotesTransformerForConditionalGeneration(config)
    model.generation_config.max_length = args.max_length + 1  # the start token + at most max_length tokens
    model.generation_config.num_beams = args.num_beams
    logger.warning(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, preset {args.preset}")

    def tokenize(batch):
        return tokenizer(batch["source"], text_target=batch["target"], truncation=True, max_length=args.max_length)

    def to_dataset(split):
        sources, targets = zip(*split)
        dataset = Dataset.from_dict({"source": list(sources), "target": list(targets)})
        return dataset.map(tokenize, batched=True, remove_columns=["source", "target"])

    train_dataset, eval_dataset = to_dataset(train_pairs), to_dataset(eval_pairs)

    def compute_metrics(prediction):
        import sacrebleu

        predictions, labels = prediction.predictions, prediction.label_ids
        predictions = [[t for t in row if t >= 0] for row in predictions]
        labels = [[t for t in row if t >= 0] for row in labels]
        hypotheses = tokenizer.batch_decode(predictions, skip_special_tokens=True)
        references = tokenizer.batch_decode(labels, skip_special_tokens=True)
        return {"bleu": sacrebleu.corpus_bleu(hypotheses, [references]).score}

    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    scheduler = noam_schedule(optimizer, config.d_model, args.warmup_steps, args.lr_factor)
    training_args = Seq2SeqTrainingArguments(
        output_dir=args.output_dir,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        logging_steps=max(1, args.max_steps // 30),
        eval_strategy="no",
        save_strategy="no",
        predict_with_generate=True,
        generation_num_beams=args.num_beams,
        generation_max_length=args.max_length + 1,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        seed=args.seed,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length",  # batches of similar lengths: far less padding to compute on
        use_cache=True,  # the Trainer copies this into model.config (our forward turns the cache off for training)
    )
    trainer = Seq2SeqTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        optimizers=(optimizer, scheduler),
        callbacks=[TimeBudgetCallback(args.time_budget_minutes)],
    )
    trainer.train()
    metrics = trainer.evaluate()
    steps, bleu, loss = trainer.state.global_step, metrics["eval_bleu"], metrics["eval_loss"]
    logger.warning(f"held-out BLEU after {steps} steps: {bleu:.2f} (loss {loss:.3f})")
    if not trainer.is_world_process_zero():  # under torchrun the main process saves and reports
        return {}
    loss_curve = os.path.join(args.output_dir, "loss_curve.png")
    plot_loss_curve(trainer.state.log_history, loss_curve, "Transformer training loss")

    model.save_pretrained(args.output_dir)
    tokenizer.save_pretrained(args.output_dir)

    # reload through the Auto classes, as a user of the saved folder would
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(args.output_dir)
    reloaded_tokenizer = AutoTokenizer.from_pretrained(args.output_dir)
    # transformers 5 removed pipeline("translation"); `import hf_nlpnotes` registers it again (hf_nlpnotes/pipelines.py)
    translator = pipeline("translation", model=reloaded, tokenizer=reloaded_tokenizer)
    for sentence, result in zip(EXAMPLE_SENTENCES, translator(EXAMPLE_SENTENCES, num_beams=args.num_beams)):
        print(f"{sentence}\n  -> {result['translation_text']}")

    eager = AutoModelForSeq2SeqLM.from_pretrained(args.output_dir, attn_implementation="eager")
    source, target = eval_pairs[0]
    path = plot_attention_maps(
        *attention_maps(eager, reloaded_tokenizer, source, target), os.path.join(args.output_dir, "attention_maps.png")
    )
    print(f"held-out BLEU {metrics['eval_bleu']:.2f}; wrote {path} and the loss curve to {args.output_dir}")
    return metrics


if __name__ == "__main__":
    main()
