"""What every converter needs: a protected output folder and safe weight loading."""

import json
import os
from pathlib import Path

import torch


def prepare_output_dir(
    output_dir: str | os.PathLike, overwrite: bool = False, how_to_overwrite: str = "overwrite=True (--overwrite)"
) -> Path:
    """Creates `output_dir`; an existing non-empty folder is only reused when `overwrite` is set.

    `how_to_overwrite` is what the error tells the user to pass (the caller's own flag)."""
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"output path {path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(f"output folder {path} exists and is not empty; pass {how_to_overwrite} to replace it")
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_json(path: str | os.PathLike) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def load_weight_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state dict from .safetensors, or from a PyTorch pickle (.bin/.pt/.pth) loaded with weights_only=True, so that
    a checkpoint cannot run code. Sharded safetensors checkpoints are read through their index file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight file not found: {path}")
    if path.name.endswith(".index.json"):
        index = read_json(path)
        if "weight_map" not in index:
            raise ValueError(f"{path} has no 'weight_map'; not a sharded checkpoint index")
        state_dict = {}
        for shard in sorted(set(index["weight_map"].values())):
            state_dict.update(load_weight_file(path.parent / shard))
        return state_dict
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as error:
            raise ValueError(f"{path} is not a readable safetensors file: {error}") from error
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling errors come in many types
        raise ValueError(f"{path} is not a readable PyTorch weight file (loaded with weights_only=True): {error}") from error
    if isinstance(state_dict, dict) and "state_dict" in state_dict and isinstance(state_dict["state_dict"], dict):
        state_dict = state_dict["state_dict"]  # training checkpoints wrap the weights
    if not isinstance(state_dict, dict) or not all(torch.is_tensor(value) for value in state_dict.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors")
    return state_dict


def check_and_load(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], source: str, allowed_missing=()):
    """load_state_dict with errors that name the offending keys and shapes instead of a wall of text."""
    expected = model.state_dict()
    mismatched = [
        f"{key}: checkpoint {tuple(value.shape)} vs model {tuple(expected[key].shape)}"
        for key, value in state_dict.items()
        if key in expected and tuple(value.shape) != tuple(expected[key].shape)
    ]
    if mismatched:
        raise ValueError(f"{source}: shapes do not match the configuration:\n  " + "\n  ".join(mismatched[:20]))
    missing = sorted(set(expected) - set(state_dict) - set(allowed_missing))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{source}: the checkpoint does not fit {type(model).__name__}; "
            f"missing {missing[:20]}{' ...' if len(missing) > 20 else ''}, "
            f"unexpected {unexpected[:20]}{' ...' if len(unexpected) > 20 else ''}"
        )
    model.load_state_dict(state_dict, strict=False)
