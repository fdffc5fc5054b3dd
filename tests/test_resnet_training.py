"""A few Trainer steps lower the loss; the Fashion-MNIST loader reads the IDX files of dataset-fashion-mnist."""

import numpy as np
import pytest
import torch
from transformers import Trainer, TrainingArguments

from hf_nlpnotes import NotesResNetForImageClassification, NotesResNetImageProcessor, load_preset
from hf_nlpnotes.data import fashion_mnist


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks run fastest on one thread, and a busy shared CI machine makes 2-thread regions wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class FixedImages(torch.utils.data.Dataset):
    """16 random 32×32 images with fixed labels: a set the network can memorise in a few steps."""

    def __init__(self, size: int = 16):
        generator = torch.Generator().manual_seed(0)
        self.pixel_values = torch.randn(size, 3, 32, 32, generator=generator)
        self.labels = torch.arange(size) % 4

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return {"pixel_values": self.pixel_values[index], "labels": self.labels[index]}


@pytest.mark.parametrize("use_se", [False, True])
def test_trainer_steps_lower_the_loss(tmp_path, use_se):
    config = load_preset("resnet-20", num_labels=4, depths=[1, 1, 1], use_squeeze_excitation=use_se, se_reduction=4)
    model = NotesResNetForImageClassification(config)
    dataset = FixedImages()
    batch = {"pixel_values": dataset.pixel_values, "labels": dataset.labels}
    model.eval()
    with torch.no_grad():
        loss_before = model(**batch).loss.item()
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=16,
        max_steps=12,
        learning_rate=0.05,
        optim="sgd",
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset)
    trainer.train()
    model.eval()
    with torch.no_grad():
        loss_after = model(**batch).loss.item()
    logged = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(logged) == 12
    assert logged[-1] < logged[0]
    assert loss_after < loss_before


def test_fashion_mnist_loader():
    if not fashion_mnist.FASHION_MNIST_DIR.is_dir():
        pytest.skip(f"needs the apt package dataset-fashion-mnist ({fashion_mnist.FASHION_MNIST_DIR} is missing)")
    images, labels = fashion_mnist.fashion_mnist_arrays("test")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and set(np.unique(labels)) == set(range(10))
    datasets = pytest.importorskip("datasets", reason="needs the datasets package")
    dataset = fashion_mnist.load_fashion_mnist("train", limit=8, seed=0)
    assert isinstance(dataset, datasets.Dataset) and len(dataset) == 8
    assert dataset.features["label"].names[9] == "Ankle boot"
    first = dataset[0]
    assert first["image"].size == (28, 28)
    processor = NotesResNetImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    assert processor(first["image"], return_tensors="pt").pixel_values.shape == (1, 3, 32, 32)


def test_fashion_mnist_loader_errors(tmp_path):
    with pytest.raises(ValueError, match="split must be"):
        fashion_mnist.fashion_mnist_arrays("validation")
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fashion_mnist.fashion_mnist_arrays("train", directory=tmp_path)
