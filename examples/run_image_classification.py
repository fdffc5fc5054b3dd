"""Train a ResNet / SE-ResNet image classifier with Trainer on Fashion-MNIST or on any image folder.

Default: the paper's CIFAR-style ResNet-20 (3×3 stem, shortcut A) on a 4,000-image subset of Fashion-MNIST
(apt-get install dataset-fashion-mnist) at 28×28, 200 steps of 32 images: 1–3 minutes on 2 CPU cores (training stops
after --time_budget_minutes in any case). Then accuracy on
(a subset of) the test split, save_pretrained, reload through AutoModelForImageClassification /
AutoImageProcessor, pipeline("image-classification") on a few test images, and a loss curve PNG.

    python examples/run_image_classification.py --output_dir outputs/resnet20-fmnist
    python examples/run_image_classification.py --use_se --output_dir outputs/se-resnet20-fmnist   # + SE plot
    python examples/run_image_classification.py --train_file path/to/images --image_size 64 --output_dir out
        (an image folder: one sub-folder per class, as datasets' "imagefolder"; 10% is held out for testing)
"""

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoImageProcessor,
    AutoModelForImageClassification,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)
from transformers.utils import logging

import hf_nlpnotes
from hf_nlpnotes import NotesResNetForImageClassification, NotesResNetImageProcessor, load_preset
from hf_nlpnotes.plotting import plot_loss_curve
from hf_nlpnotes.training import TimeBudgetCallback, prepare_output_dir

logger = logging.get_logger("run_image_classification")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="resnet-20", help=f"one of {hf_nlpnotes.list_presets('notes_resnet')}")
    parser.add_argument("--train_file", default=None, help="an image folder with one sub-folder per class "
                        "(default: Fashion-MNIST from /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--output_dir", default="outputs/resnet-image-classification")
    parser.add_argument("--overwrite_output_dir", action="store_true")
    parser.add_argument("--use_se", action="store_true", help="add squeeze-and-excitation to every block (SE-ResNet)")
    parser.add_argument("--se_reduction", type=int, default=4, help="SE reduction ratio with --use_se (16 in the paper)")
    parser.add_argument("--image_size", type=int, default=28, help="images are resized and center-cropped to this")
    parser.add_argument("--max_train_examples", type=int, default=4000)
    parser.add_argument("--max_eval_examples", type=int, default=1000)
    parser.add_argument("--max_steps", type=int, default=200)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=2e-3)
    parser.add_argument("--nchw", action="store_true", help="run in NCHW; by default the model runs channels_last "
                        "(NotesResNetConfig.use_channels_last), which is faster on CPUs and GPUs")
    parser.add_argument(
        "--time_budget_minutes", type=float, default=3.0, help="stop training after this long (<=0: no limit)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice; on a "
                        "busy shared machine 1 thread is often faster than 2)")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def load_data(args):
    """(train, test) `datasets.Dataset`s with columns image (PIL) and label (ClassLabel)."""
    if args.train_file is None:
        from hf_nlpnotes.data.fashion_mnist import load_fashion_mnist

        train = load_fashion_mnist("train", limit=args.max_train_examples, seed=args.seed)
        test = load_fashion_mnist("test", limit=args.max_eval_examples, seed=args.seed)
        return train, test
    from datasets import load_dataset

    folder = Path(args.train_file)
    if not folder.is_dir():
        raise FileNotFoundError(f"--train_file must be an image folder with one sub-folder per class, got {folder}")
    dataset = load_dataset("imagefolder", data_dir=str(folder), split="train")
    split = dataset.train_test_split(test_size=0.1, seed=args.seed, stratify_by_column="label")
    train, test = split["train"], split["test"]
    train = train.select(range(min(len(train), args.max_train_examples)))
    test = test.select(range(min(len(test), args.max_eval_examples)))
    return train, test


def _plot_se_module():
    """The sibling plot_se_excitation.py, found by path: this file runs as a script, as `hf_nlpnotes._examples`
    (installed, `hf-nlpnotes train`) or loaded from its file, and a plain import works in only some of those."""
    path = Path(__file__).with_name("plot_se_excitation.py")
    spec = importlib.util.spec_from_file_location("plot_se_excitation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    args = parse_args(argv)
    logging.set_verbosity_info()
    set_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    output_dir = prepare_output_dir(args.output_dir, args.overwrite_output_dir)

    train, test = load_data(args)
    names = train.features["label"].names
    id2label = dict(enumerate(names))
    overrides = dict(
        num_labels=len(names),
        id2label=id2label,
        label2id={name: index for index, name in id2label.items()},
        use_channels_last=not args.nchw,
    )
    if args.use_se:
        overrides.update(use_squeeze_excitation=True, se_reduction=args.se_reduction)
    config = load_preset(args.preset, **overrides)
    if args.image_size < config.total_stride:
        raise ValueError(
            f"--image_size {args.image_size} is below the total stride {config.total_stride} of {args.preset}"
        )
    model = NotesResNetForImageClassification(config)
    processor = NotesResNetImageProcessor(
        size={"shortest_edge": args.image_size}, crop_size={"height": args.image_size, "width": args.image_size}
    )
    name = args.preset + (" + SE" if config.use_squeeze_excitation else "")
    logger.info(f"{name}: {model.num_parameters():,} parameters; "
                f"{len(train)} training / {len(test)} test images of {len(names)} classes")

    def transform(batch):
        pixel_values = processor(batch["image"], return_tensors="pt").pixel_values
        return {"pixel_values": pixel_values, "labels": torch.tensor(batch["label"])}

    def compute_metrics(prediction):
        return {"accuracy": float((np.argmax(prediction.predictions, -1) == prediction.label_ids).mean())}

    training_args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=256,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate,
        weight_decay=5e-4,
        warmup_steps=max(1, args.max_steps // 20),
        lr_scheduler_type="cosine",
        logging_steps=10,
        eval_strategy="no",
        save_strategy="no",
        remove_unused_columns=False,  # the transform needs the "image" column
        dataloader_num_workers=0,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        seed=args.seed,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train.with_transform(transform),
        eval_dataset=test.with_transform(transform),
        compute_metrics=compute_metrics,
        processing_class=processor,
        callbacks=[TimeBudgetCallback(args.time_budget_minutes)],
    )
    trainer.train()
    metrics = trainer.evaluate()
    accuracy, loss = metrics["eval_accuracy"], metrics["eval_loss"]
    logger.warning(f"test accuracy ({len(test)} images): {accuracy:.4f}, loss {loss:.4f}")

    if not trainer.is_world_process_zero():  # under torchrun the main process saves and reports
        return {}
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    curve = plot_loss_curve(
        trainer.state.log_history, output_dir / "loss_curve.png", title=f"{args.preset} training loss"
    )
    logger.warning(f"saved the model to {output_dir}; loss curve: {curve}")

    # reload through the Auto classes, as a user of the saved folder would
    reloaded = AutoModelForImageClassification.from_pretrained(output_dir).eval()
    reloaded_processor = AutoImageProcessor.from_pretrained(output_dir)
    classifier = pipeline("image-classification", model=reloaded, image_processor=reloaded_processor)
    for example in test.select(range(min(5, len(test)))):
        top = classifier(example["image"], top_k=1)[0]
        logger.warning(f"true {names[example['label']]:>12}  predicted {top['label']:>12} ({top['score']:.2f})")

    if config.use_squeeze_excitation:
        path = _plot_se_module().plot_excitation(reloaded, reloaded_processor, test[0]["image"], output_dir / "se_excitation.png",
                               title=f"SE excitation for a test image ({names[test[0]['label']]})")
        logger.warning(f"SE excitation plot: {path}")


if __name__ == "__main__":
    main()
