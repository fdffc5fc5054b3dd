"""Fine-tune BERT for sequence classification with Trainer and report accuracy on a held-out split.

Default data: the movie-snippet sentence polarity set (10,568 sentences rated by people, positive / negative; fetched
from PyPI's vaderSentiment source archive on first use). Any CSV or JSON(-lines) file with a text and a label column
works with --train_file (labels may be strings; they become `id2label`).

    # fine-tune the model pretrained by run_mlm.py (the README's main job)
    python examples/run_classification.py --model_name_or_path outputs/bert-mini-web --output_dir outputs/polarity
    # or start from a preset with a tokenizer trained on the training texts
    python examples/run_classification.py --preset bert-mini --output_dir outputs/polarity-scratch
"""

import argparse

import numpy as np
import torch
from datasets import Dataset, load_dataset
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)

import hf_nlpnotes
from hf_nlpnotes import NotesBertForSequenceClassification, NotesBertTokenizer
from hf_nlpnotes.plotting import plot_loss_curve
from hf_nlpnotes.training import TimeBudgetCallback, build_on_main_process, prepare_output_dir


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model_name_or_path", default=None, help="a saved hf_nlpnotes BERT folder to fine-tune")
    source.add_argument("--preset", default="bert-mini", help="train from scratch with this preset")
    parser.add_argument("--train_file", default=None, help="CSV / JSON file (default: movie-snippet polarity)")
    parser.add_argument("--text_column", default="text")
    parser.add_argument("--label_column", default="label")
    parser.add_argument("--output_dir", default="outputs/bert-classification")
    parser.add_argument("--overwrite_output_dir", action="store_true")
    parser.add_argument("--test_fraction", type=float, default=0.1)
    parser.add_argument("--max_seq_length", type=int, default=64)
    parser.add_argument("--vocab_size", type=int, default=8000, help="tokenizer size when training from a preset")
    parser.add_argument("--num_train_epochs", type=float, default=2.0)
    parser.add_argument("--max_steps", type=int, default=-1)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--time_budget_minutes", type=float, default=4.0, help="stop training after this long (<=0: no limit)")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def load_examples(args) -> Dataset:
    if args.train_file is None:
        from hf_nlpnotes.data.polarity import load_polarity

        texts, labels, _ = load_polarity("movies")
        return Dataset.from_dict({"text": texts, "label": [["negative", "positive"][label] for label in labels]})
    kind = "csv" if args.train_file.endswith((".csv", ".tsv")) else "json"
    options = {"delimiter": "\t"} if args.train_file.endswith(".tsv") else {}
    dataset = load_dataset(kind, data_files=args.train_file, split="train", **options)
    for column in (args.text_column, args.label_column):
        if column not in dataset.column_names:
            raise ValueError(f"{args.train_file} has no column {column!r}; columns: {dataset.column_names}")
    return dataset.select_columns([args.text_column, args.label_column]).rename_columns(
        {args.text_column: "text", args.label_column: "label"}
    )


def main(argv=None):
    args = parse_args(argv)
    set_seed(args.seed)
    output_dir = prepare_output_dir(args.output_dir, args.overwrite_output_dir)

    dataset = load_examples(args)
    names = sorted({str(label) for label in dataset["label"]})
    label2id = {name: index for index, name in enumerate(names)}
    dataset = Dataset.from_dict({"text": dataset["text"], "label": [label2id[str(label)] for label in dataset["label"]]})
    split = dataset.train_test_split(test_size=args.test_fraction, seed=args.seed)
    print(f"{len(split['train'])} training and {len(split['test'])} test sentences, labels {names}")

    label_fields = dict(num_labels=len(names), id2label=dict(enumerate(names)), label2id=label2id)
    if args.model_name_or_path:
        tokenizer = AutoTokenizer.from_pretrained(args.model_name_or_path)
        model = AutoModelForSequenceClassification.from_pretrained(args.model_name_or_path, **label_fields)
    else:
        tokenizer = build_on_main_process(
            lambda: NotesBertTokenizer.train_from_texts(split["train"]["text"], vocab_size=args.vocab_size),
            output_dir / "tokenizer",
            NotesBertTokenizer.from_pretrained,
        )
        config = hf_nlpnotes.load_preset(args.preset, vocab_size=len(tokenizer), **label_fields)
        model = NotesBertForSequenceClassification(config)

    def tokenize(batch):
        return tokenizer(batch["text"], truncation=True, max_length=args.max_seq_length)

    encoded = split.map(tokenize, batched=True, remove_columns=["text"])

    def accuracy(prediction):
        return {"accuracy": float((np.argmax(prediction.predictions, axis=-1) == prediction.label_ids).mean())}

    training_args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=args.num_train_epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=128,
        learning_rate=args.learning_rate,
        weight_decay=0.01,
        warmup_steps=0.1,  # a float below 1 is a fraction of the training steps in transformers 5
        logging_steps=10,
        eval_strategy="epoch",
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        use_cpu=not torch.cuda.is_available(),
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=encoded["train"],
        eval_dataset=encoded["test"],
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=accuracy,
        callbacks=[TimeBudgetCallback(args.time_budget_minutes)],
    )
    trainer.train()
    metrics = trainer.evaluate()
    if not trainer.is_world_process_zero():  # under torchrun the main process saves and reports
        return {}
    print(f"test accuracy {metrics['eval_accuracy']:.3f} on {len(encoded['test'])} sentences")

    trainer.save_model(str(output_dir))
    plot_loss_curve(trainer.state.log_history, output_dir / "loss_curve.png", title="sequence classification")
    classifier = pipeline(
        "text-classification",
        model=AutoModelForSequenceClassification.from_pretrained(output_dir),
        tokenizer=AutoTokenizer.from_pretrained(output_dir),
    )
    for text in split["test"]["text"][:3]:
        print(f"{classifier(text)[0]}  <- {text[:80]}")
    return {"accuracy": metrics["eval_accuracy"], "output_dir": str(output_dir)}


if __name__ == "__main__":
    main()
