"""NotesResNetImageProcessor: the ImageNet transform computed by hand with PIL, colour modes, input kinds,
Auto loading, datasets transforms and pipeline("image-classification")."""

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, pipeline

from hf_nlpnotes import NotesResNetConfig, NotesResNetForImageClassification, NotesResNetImageProcessor


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks run fastest on one thread, and a busy shared CI machine makes 2-thread regions wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def manual_transform(image: Image.Image, shorter: int = 256, crop: int = 224) -> np.ndarray:
    """resize the shorter side (bilinear) → center crop → /255 → (x − mean) / std, as CHW float32."""
    image = image.convert("RGB")
    width, height = image.size
    if width <= height:
        new_size = (shorter, int(shorter * height / width))
    else:
        new_size = (int(shorter * width / height), shorter)
    image = image.resize(new_size, Image.BILINEAR)
    left, top = (new_size[0] - crop) // 2, (new_size[1] - crop) // 2
    image = image.crop((left, top, left + crop, top + crop))
    array = np.asarray(image, dtype=np.float32) / 255.0
    return ((array - MEAN) / STD).transpose(2, 0, 1)


def random_image(mode: str, size, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    width, height = size
    if mode == "L":
        return Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8))
    if mode == "RGBA":
        return Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8))
    if mode == "P":
        return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).quantize(16)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("size", [(301, 257), (257, 301), (256, 256), (333, 999)])
def test_odd_sizes_match_the_manual_transform(size):
    image = random_image("RGB", size)
    pixel_values = NotesResNetImageProcessor()(image, return_tensors="pt").pixel_values
    assert pixel_values.shape == (1, 3, 224, 224)
    np.testing.assert_allclose(pixel_values[0].numpy(), manual_transform(image), atol=1e-4)


def test_small_image_is_upscaled_then_cropped():
    pixel_values = NotesResNetImageProcessor()(random_image("RGB", (17, 9)), return_tensors="pt").pixel_values
    assert pixel_values.shape == (1, 3, 224, 224)


@pytest.mark.parametrize("mode", ["L", "P"])
def test_grayscale_and_palette_become_rgb(mode):
    image = random_image(mode, (260, 270))
    pixel_values = NotesResNetImageProcessor()(image, return_tensors="pt").pixel_values
    assert pixel_values.shape == (1, 3, 224, 224)
    np.testing.assert_allclose(pixel_values[0].numpy(), manual_transform(image), atol=1e-4)
    if mode == "L":
        # the three channels hold the same gray value before normalisation
        unnormalised = pixel_values[0].numpy() * STD[:, None, None] + MEAN[:, None, None]
        np.testing.assert_allclose(unnormalised[0], unnormalised[2], atol=1e-5)


def test_rgba_is_composited_on_white():
    image = Image.new("RGBA", (256, 256), (200, 10, 10, 0))  # fully transparent
    pixel_values = NotesResNetImageProcessor()(image, return_tensors="pt").pixel_values
    np.testing.assert_allclose(pixel_values[0, :, 100, 100].numpy(), (1.0 - MEAN) / STD, atol=1e-5)
    opaque = Image.new("RGBA", (256, 256), (200, 10, 10, 255))
    pixel_values = NotesResNetImageProcessor()(opaque, return_tensors="pt").pixel_values
    expected = (np.array([200, 10, 10]) / 255 - MEAN) / STD
    np.testing.assert_allclose(pixel_values[0, :, 5, 5].numpy(), expected, atol=1e-5)


def test_numpy_and_tensor_inputs_match_pil():
    image = random_image("RGB", (280, 260))
    processor = NotesResNetImageProcessor()
    expected = processor(image, return_tensors="pt").pixel_values
    hwc = np.asarray(image)
    for other in (hwc, hwc.transpose(2, 0, 1).copy(), torch.from_numpy(hwc.transpose(2, 0, 1).copy())):
        torch.testing.assert_close(processor(other, return_tensors="pt").pixel_values, expected, atol=1e-5, rtol=0)
    gray = random_image("L", (40, 30))
    torch.testing.assert_close(
        processor(np.asarray(gray), return_tensors="pt").pixel_values,
        processor(gray, return_tensors="pt").pixel_values,
    )


def test_batches_of_mixed_images():
    images = [random_image("L", (28, 28)), random_image("RGBA", (64, 50)), random_image("RGB", (300, 200))]
    processor = NotesResNetImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    pixel_values = processor(images, return_tensors="pt").pixel_values
    assert pixel_values.shape == (3, 3, 32, 32)
    assert pixel_values.dtype == torch.float32


def test_auto_image_processor_round_trip(tmp_path):
    processor = NotesResNetImageProcessor(size={"shortest_edge": 36}, crop_size={"height": 32, "width": 32})
    processor.save_pretrained(tmp_path)
    NotesResNetConfig(num_labels=2).save_pretrained(tmp_path)
    reloaded = AutoImageProcessor.from_pretrained(tmp_path)
    assert isinstance(reloaded, NotesResNetImageProcessor)
    assert reloaded.size["shortest_edge"] == 36 and reloaded.crop_size["height"] == 32
    image = random_image("RGB", (50, 40))
    torch.testing.assert_close(
        reloaded(image, return_tensors="pt").pixel_values, processor(image, return_tensors="pt").pixel_values
    )


def test_datasets_with_transform():
    datasets = pytest.importorskip("datasets", reason="needs the datasets package")
    processor = NotesResNetImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    dataset = datasets.Dataset.from_dict(
        {"image": [random_image("L", (28, 28), seed) for seed in range(4)], "label": [0, 1, 2, 3]},
        features=datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")}),
    )

    def transform(batch):
        return {"pixel_values": processor(batch["image"], return_tensors="pt").pixel_values, "labels": batch["label"]}

    item = dataset.with_transform(transform)[0:2]
    assert item["pixel_values"].shape == (2, 3, 32, 32)
    assert list(item["labels"]) == [0, 1]


def test_pipeline_image_classification(tmp_path):
    config = NotesResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", stem_type="cifar",
        id2label={0: "cat", 1: "dog", 2: "bird"},
    )
    model = NotesResNetForImageClassification(config).eval()
    model.save_pretrained(tmp_path)
    processor = NotesResNetImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor.save_pretrained(tmp_path)
    classifier = pipeline("image-classification", model=str(tmp_path))
    # grayscale: the pipeline's own loader and the processor agree on it (for RGBA the loader drops the alpha)
    image = random_image("L", (40, 30))
    predictions = classifier(image, top_k=3)
    assert {p["label"] for p in predictions} == {"cat", "dog", "bird"}
    pixel_values = NotesResNetImageProcessor.from_pretrained(tmp_path)(image, return_tensors="pt").pixel_values
    with torch.no_grad():
        probabilities = model(pixel_values).logits.softmax(-1)[0]
    best = int(probabilities.argmax())
    assert predictions[0]["label"] == config.id2label[best]
    assert predictions[0]["score"] == pytest.approx(float(probabilities[best]), abs=1e-5)
