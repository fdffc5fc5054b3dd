"""Helpers the example scripts share: a protected output folder, a wall-clock budget, text loading."""

import os
import time
from pathlib import Path

from transformers import TrainerCallback
from transformers.utils import logging

from .converters.common import prepare_output_dir as _create_output_dir

logger = logging.get_logger(__name__)

__all__ = ["TimeBudgetCallback", "prepare_output_dir", "read_text_lines"]


class TimeBudgetCallback(TrainerCallback):
    """Stops training cleanly (saving and evaluating as usual) once `minutes` of wall-clock time have passed, so
    that a demo run fits its budget on slow machines while fast machines still do every step. `minutes` None or
    <= 0: no limit (the examples' `--time_budget_minutes 0`)."""

    def __init__(self, minutes: float | None):
        self.seconds = minutes * 60 if minutes is not None and minutes > 0 else None
        self.start = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if self.seconds is not None and time.monotonic() - self.start > self.seconds:
            logger.warning(f"time budget of {self.seconds / 60:.1f} min reached at step {state.global_step}; stopping")
            control.should_training_stop = True
        return control


def prepare_output_dir(
    output_dir: str | os.PathLike, overwrite: bool = False, how_to_overwrite: str = "--overwrite_output_dir"
) -> Path:
    """Creates the output folder, refusing to reuse a non-empty one unless `overwrite` is set (the error names
    `how_to_overwrite`, by default the examples' flag).

    Safe under torchrun / accelerate launch: only the main process checks and creates the folder; the others wait
    for it (a second process would otherwise find the folder the first one just created and refuse it).
    """
    from accelerate import PartialState

    state = PartialState()
    with state.main_process_first():
        if state.is_main_process:
            return _create_output_dir(output_dir, overwrite, how_to_overwrite)
    return Path(output_dir)


def build_on_main_process(build, save_dir: str | os.PathLike, load):
    """Runs `build()` (e.g. training a tokenizer) once, on the main process, and hands the others what it saved.

    Under torchrun / accelerate launch every rank would otherwise build its own copy, and WordPiece training is not
    deterministic across processes: the ranks would disagree on the vocabulary. Single-process runs just build.
    """
    from accelerate import PartialState

    state = PartialState()
    if state.num_processes == 1:
        return build()
    with state.main_process_first():
        if state.is_main_process:
            built = build()
            built.save_pretrained(save_dir)
            return built
        return load(save_dir)


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


class ReplicaConsistencyCallback(TrainerCallback):
    """At the end of distributed training, checks that every process holds the same weights.

    DDP keeps replicas in sync by construction; a mismatch means something outside it (a rank-dependent
    tokenizer, a module not registered as a parameter, a custom optimizer step) went wrong, and training results would
    depend on which rank saves. Each rank sums every parameter in float64; the sums are all-gathered and compared.
    """

    def __init__(self):
        self.checksum = None

    def on_train_end(self, args, state, control, model=None, **kwargs):
        import torch
        import torch.distributed as dist

        if model is None or not (dist.is_available() and dist.is_initialized()):
            return
        checksum = torch.stack([parameter.detach().double().sum() for parameter in model.parameters()]).cpu()
        gathered = [torch.empty_like(checksum) for _ in range(dist.get_world_size())]
        dist.all_gather_object(gathered, checksum)
        identical = all(torch.equal(gathered[0], other) for other in gathered[1:])
        self.checksum = float(checksum.sum())
        print(f"[rank {dist.get_rank()}] parameter checksum {self.checksum:.10e}; identical on all "
              f"{dist.get_world_size()} ranks: {identical}", flush=True)
        if not identical:
            raise RuntimeError("the model replicas differ between ranks after training")
