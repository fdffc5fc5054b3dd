"""Makes `Trainer(..., args=TrainingArguments(push_to_hub=True))` share hf_nlpnotes models with their code and card.

Two gaps of transformers' Trainer for models that need their code on the Hub:
- checkpoint pushes during training copy only config and weight files from the checkpoint folder to the output
  folder before uploading it, so the modeling code of a custom model is missing from the repo until the end;
- `Trainer.push_to_hub` writes its own generic model card.
`install()` wraps the two Trainer methods involved; the wrappers act only when the model is an hf_nlpnotes model
(it has `model_card`) and leave every other model untouched. Called once by `import hf_nlpnotes`.
"""

import glob
import os
import shutil

from transformers import Trainer
from transformers.utils import logging

from .models.notes_model_card import write_card

logger = logging.get_logger(__name__)


def _notes_model(trainer):
    model = trainer.accelerator.unwrap_model(trainer.model) if hasattr(trainer, "accelerator") else trainer.model
    return model if hasattr(model, "model_card") and hasattr(model, "notes_auto_classes") else None


def _card(trainer, model, dataset=None) -> str:
    state = {"global_step": trainer.state.global_step, "epoch": trainer.state.epoch or 0.0, "log_history": trainer.state.log_history}
    args = trainer.args.to_dict()
    datasets = [dataset] if isinstance(dataset, str) else dataset
    return model.model_card(trainer.hub_model_id or os.path.basename(trainer.args.output_dir), state, args, datasets)


def install():
    if getattr(Trainer, "_hf_nlpnotes_installed", False):
        return
    original_create_model_card = Trainer.create_model_card
    original_push_from_checkpoint = Trainer._push_from_checkpoint

    def create_model_card(self, *args, **kwargs):
        model = _notes_model(self)
        if model is None:
            return original_create_model_card(self, *args, **kwargs)
        if not self.is_world_process_zero():
            return None
        # our card replaces the generic one; a README.md a person wrote in output_dir is kept
        write_card(self.args.output_dir, _card(self, model, kwargs.get("dataset") or kwargs.get("dataset_tags")))
        return None

    def push_from_checkpoint(self, checkpoint_folder):
        model = _notes_model(self)
        if model is not None and self.is_world_process_zero():
            for code_file in glob.glob(os.path.join(checkpoint_folder, "*.py")):
                shutil.copy(code_file, self.args.output_dir)
            write_card(self.args.output_dir, _card(self, model))
        return original_push_from_checkpoint(self, checkpoint_folder)

    Trainer.create_model_card = create_model_card
    Trainer._push_from_checkpoint = push_from_checkpoint
    Trainer._hf_nlpnotes_installed = True
