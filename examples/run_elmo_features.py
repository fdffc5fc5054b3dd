"""ELMo's feature-based recipe (Peters et al., 2018): a frozen biLM, a learned scalar mix of its layers, a task model.

Tasks:
  --task sentence   sentence polarity (default data: the movie snippets rated by people, positive / negative, fetched
                    from PyPI's vaderSentiment source archive on first use; or --train_file CSV/TSV/JSON with text and
                    label columns): self-attentive pooling + linear classifier.
  --task pos        part-of-speech tagging (default data: pip install turkish-treebanks==1.0.0; or --train_file
                    a CoNLL-U file): BiLSTM tagger.

The biLM: --model_name_or_path a saved biLM (the output of run_elmo_bilm.py, the default, or of the converter
`python -m hf_nlpnotes.converters.elmo`); when that folder does not exist, a randomly initialised --preset biLM is used
(the mix still learns, but the features are weak: pretrain first).

    python examples/run_elmo_bilm.py --output_dir outputs/elmo-bilm
    python examples/run_elmo_features.py --model_name_or_path outputs/elmo-bilm --output_dir outputs/elmo-polarity

Reports test accuracy, writes the loss curve and a bar plot of the learned layer weights (softmax(s) and gamma).
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset, load_dataset
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.utils import logging

import hf_nlpnotes
from hf_nlpnotes import NotesElmoForSequenceClassification, NotesElmoForTokenClassification, NotesElmoTokenizer
from hf_nlpnotes.plotting import plot_bars, plot_loss_curve
from hf_nlpnotes.training import TimeBudgetCallback, prepare_output_dir

logger = logging.get_logger("run_elmo_features")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=("sentence", "pos"), default="sentence")
    parser.add_argument("--model_name_or_path", default="outputs/elmo-bilm", help="a saved ELMo biLM folder")
    parser.add_argument("--preset", default="elmo-tiny", help="used (randomly initialised) when the folder is absent")
    parser.add_argument("--train_file", default=None, help="CSV/TSV/JSON (sentence) or CoNLL-U (pos) file")
    parser.add_argument("--text_column", default="text")
    parser.add_argument("--label_column", default="label")
    parser.add_argument("--output_dir", default="outputs/elmo-features")
    parser.add_argument("--overwrite_output_dir", action="store_true")
    parser.add_argument("--max_examples", type=int, default=4000, help="use at most this many examples")
    parser.add_argument("--test_fraction", type=float, default=0.1)
    parser.add_argument("--max_words", type=int, default=40, help="words per sentence, boundaries included")
    parser.add_argument("--fine_tune_bilm", action="store_true", help="train the biLM too (default: frozen)")
    parser.add_argument("--layer_norm", action="store_true", help="normalise each layer in the scalar mix")
    parser.add_argument("--lstm_implementation", choices=("exact", "fast"), default="fast")
    parser.add_argument("--max_steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=3e-3)
    parser.add_argument("--time_budget_minutes", type=float, default=4.0, help="stop training after this long (<=0: none)")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def load_sentence_data(args) -> tuple[list[str], list[str]]:
    if args.train_file is None:
        from hf_nlpnotes.data.polarity import load_polarity

        texts, labels, _ = load_polarity("movies")
        return texts, [["negative", "positive"][label] for label in labels]
    kind = "csv" if args.train_file.endswith((".csv", ".tsv")) else "json"
    options = {"delimiter": "\t"} if args.train_file.endswith(".tsv") else {}
    dataset = load_dataset(kind, data_files=args.train_file, split="train", **options)
    for column in (args.text_column, args.label_column):
        if column not in dataset.column_names:
            raise ValueError(f"{args.train_file} has no column {column!r}; columns: {dataset.column_names}")
    return list(dataset[args.text_column]), [str(label) for label in dataset[args.label_column]]


def load_pos_data(args) -> tuple[list[list[str]], list[list[str]]]:
    from hf_nlpnotes.data.treebank import pos_sentences

    return pos_sentences([args.train_file] if args.train_file else None)


def build_model(args, model_class, label_fields):
    overrides = dict(
        freeze_bilm=not args.fine_tune_bilm,
        scalar_mix_layer_norm=args.layer_norm,
        lstm_implementation=args.lstm_implementation,
        **label_fields,
    )
    if Path(args.model_name_or_path).is_dir():
        model = model_class.from_pretrained(args.model_name_or_path, **overrides)
        tokenizer = AutoTokenizer.from_pretrained(args.model_name_or_path)
        return model, tokenizer
    logger.warning(
        f"{args.model_name_or_path} does not exist: using a randomly initialised {args.preset} biLM "
        "(run examples/run_elmo_bilm.py first for pretrained features)"
    )
    model = model_class(hf_nlpnotes.load_preset(args.preset, **overrides))
    return model, NotesElmoTokenizer(split_punctuation=True)


def main(argv=None):
    args = parse_args(argv)
    set_seed(args.seed)
    output_dir = prepare_output_dir(args.output_dir, args.overwrite_output_dir)

    if args.task == "sentence":
        texts, labels = load_sentence_data(args)
        names = sorted(set(labels))
    else:
        texts, labels = load_pos_data(args)
        names = sorted({tag for tags in labels for tag in tags})
    label2id = {name: index for index, name in enumerate(names)}
    label_fields = dict(num_labels=len(names), id2label=dict(enumerate(names)), label2id=label2id)
    model_class = NotesElmoForSequenceClassification if args.task == "sentence" else NotesElmoForTokenClassification
    model, tokenizer = build_model(args, model_class, label_fields)

    if args.task == "sentence":
        data = Dataset.from_dict({"text": texts, "label": [label2id[label] for label in labels]})

        def encode(batch):
            return tokenizer(batch["text"], truncation=True, max_length=args.max_words)

    else:
        data = Dataset.from_dict({"words": texts, "tags": [[label2id[t] for t in tags] for tags in labels]})

        def encode(batch):
            return tokenizer(batch["words"], is_split_into_words=True, word_labels=batch["tags"], truncation=True,
                             max_length=args.max_words)  # fmt: skip

    data = data.shuffle(seed=args.seed).select(range(min(args.max_examples, len(data))))
    split = data.train_test_split(test_size=args.test_fraction, seed=args.seed)
    input_columns = ["text"] if args.task == "sentence" else ["words", "tags"]  # a sentence "label" stays
    encoded = split.map(encode, batched=True, remove_columns=input_columns)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"{len(encoded['train'])} training / {len(encoded['test'])} test examples, {len(names)} labels; "
          f"{trainable} trainable of {model.num_parameters()} parameters")  # fmt: skip

    def accuracy(prediction):
        predicted = np.argmax(prediction.predictions, axis=-1)
        keep = prediction.label_ids != -100
        return {"accuracy": float((predicted[keep] == prediction.label_ids[keep]).mean())}

    training_args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=args.learning_rate,
        warmup_steps=0.05,
        logging_steps=10,
        eval_strategy="steps",
        eval_steps=max(1, args.max_steps // 3),
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
    print(f"test accuracy {metrics['eval_accuracy']:.3f} on {len(encoded['test'])} examples")

    weights = torch.softmax(model.scalar_mix.layer_weights.detach(), dim=0).tolist()
    layer_names = ["token layer"] + [f"LSTM layer {k + 1}" for k in range(len(weights) - 1)]
    gamma = model.scalar_mix.gamma.item()
    print("learned layer weights: " + ", ".join(f"{n} {w:.3f}" for n, w in zip(layer_names, weights)) + f"; gamma {gamma:.3f}")
    plot_bars(dict(zip(layer_names, weights)), output_dir / "layer_weights.png",
              title=f"learned ELMo layer weights (gamma = {gamma:.2f})", ylabel="softmax(s)")  # fmt: skip
    plot_loss_curve(trainer.state.log_history, output_dir / "loss_curve.png", title=f"ELMo features: {args.task}")

    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    auto_class = AutoModelForSequenceClassification if args.task == "sentence" else AutoModelForTokenClassification
    reloaded = auto_class.from_pretrained(output_dir)
    assert isinstance(reloaded, model_class)
    if trainer.args.world_size == 1:  # a distributed evaluation would wait for the other ranks, which have returned
        trainer.model = reloaded
        again = trainer.evaluate()
        print(f"reloaded from {output_dir}: test accuracy {again['eval_accuracy']:.3f}")
    return {"accuracy": metrics["eval_accuracy"], "layer_weights": weights, "output_dir": str(output_dir)}


if __name__ == "__main__":
    main()
