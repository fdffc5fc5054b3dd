"""The image-classification example end to end on a tiny image folder (a few steps; checks the artefacts)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks run fastest on one thread, and a busy shared CI machine makes 2-thread regions wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_image_folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for label, brightness in (("dark", 40), ("light", 215)):
        (root / label).mkdir(parents=True)
        for index in range(12):
            pixels = np.clip(rng.normal(brightness, 20, (20, 24)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{index}.png")
    return root


def test_example_on_an_image_folder(tmp_path):
    pytest.importorskip("datasets", reason="the example needs the datasets package")
    pytest.importorskip("matplotlib", reason="the example writes a loss curve with matplotlib")
    example = load_example("run_image_classification")
    folder = make_image_folder(tmp_path / "images")
    output_dir = tmp_path / "out"
    arguments = [
        "--train_file", str(folder), "--output_dir", str(output_dir), "--max_steps", "3", "--batch_size", "8",
        "--image_size", "16", "--use_se", "--max_eval_examples", "8", "--time_budget_minutes", "0",
    ]
    example.main(arguments)
    for name in ("model.safetensors", "config.json", "preprocessor_config.json", "loss_curve.png", "se_excitation.png"):
        assert (output_dir / name).is_file(), name
    config = json.loads((output_dir / "config.json").read_text())
    assert config["model_type"] == "notes_resnet" and config["use_squeeze_excitation"]
    assert sorted(config["id2label"].values()) == ["dark", "light"]
    with pytest.raises(FileExistsError, match="overwrite"):
        example.main(arguments)
