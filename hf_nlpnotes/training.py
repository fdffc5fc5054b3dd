"""Helpers the example scripts share: a protected output folder, a wall-clock budget, text loading."""

import os
import time
from pathlib import Path

from transformers import TrainerCallback
from transformers.utils import logging

from .converters.common import prepare_output_dir

logger = logging.get_logger(__name__)

__all__ = ["TimeBudgetCallback", "prepare_output_dir", "read_text_lines"]


class TimeBudgetCallback(TrainerCallback):
    """Stops training cleanly (saving and evaluating as usual) once `minutes` of wall-clock time have passed, so
    that a demo run fits its budget on slow machines while fast machines still do every step."""

    def __init__(self, minutes: float | None):
        self.seconds = None if minutes is None else minutes * 60
        self.start = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if self.seconds is not None and time.monotonic() - self.start > self.seconds:
            logger.warning(f"time budget of {self.seconds / 60:.1f} min reached at step {state.global_step}; stopping")
            control.should_training_stop = True
        return control


def read_text_lines(path: str | os.PathLike, min_chars: int = 1) -> list[str]:
    """Non-empty lines of a UTF-8 text file (one document, verse or sentence a line)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle]
    lines = [line for line in lines if len(line) >= min_chars]
    if not lines:
        raise ValueError(f"{path} has no non-empty lines")
    return lines
