"""Input checks shared by the hf_nlpnotes models.

They run before any embedding lookup so that bad input fails with a message naming the bad value instead of an
IndexError deep inside `nn.Embedding` (or a device-side assert on a GPU).
"""

import torch

from .notes_model_card import build_model_card, write_card


def check_ids_in_range(ids: torch.Tensor | None, upper: int, name: str, upper_name: str):
    """Every id must lie in [0, upper). Negative ids are allowed only where they mean "ignore" (-100 in labels);
    callers pass such tensors with the ignored entries masked out."""
    if ids is None or ids.numel() == 0:
        return
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= upper:
        bad = low if low < 0 else high
        raise ValueError(f"{name} contains id {bad}, outside [0, {upper}) where {upper} is the model's {upper_name}")


def check_same_shape(reference: torch.Tensor, other: torch.Tensor | None, reference_name: str, other_name: str):
    if other is not None and tuple(other.shape) != tuple(reference.shape):
        raise ValueError(
            f"{other_name} has shape {tuple(other.shape)} but {reference_name} has shape {tuple(reference.shape)}; "
            "they must match"
        )


def check_rank(tensor: torch.Tensor, rank: int, name: str, layout: str):
    if tensor.dim() != rank:
        raise ValueError(f"{name} must have {rank} dimensions ({layout}), got shape {tuple(tensor.shape)}")


def sequence_classification_loss(config, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Loss of a sequence-classification head, chosen by `config.problem_type` as transformers does.

    When `problem_type` is unset it is inferred once and stored on the config: one label is regression, integer
    labels are single-label classification, anything else (multi-hot floats) is multi-label classification.
    """
    num_labels = logits.size(-1)
    if config.problem_type is None:
        if num_labels == 1:
            config.problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int):
            config.problem_type = "single_label_classification"
        else:
            config.problem_type = "multi_label_classification"

    if config.problem_type == "regression":
        if num_labels == 1:
            return torch.nn.functional.mse_loss(logits.squeeze(-1), labels.squeeze(-1).to(logits.dtype))
        return torch.nn.functional.mse_loss(logits, labels.to(logits.dtype))
    if config.problem_type == "single_label_classification":
        flat_labels = labels.view(-1)
        check_ids_in_range(flat_labels[flat_labels != -100], num_labels, "labels", "num_labels")
        return torch.nn.functional.cross_entropy(logits.view(-1, num_labels), flat_labels)
    if config.problem_type == "multi_label_classification":
        check_same_shape(logits, labels, "logits", "labels")
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    raise ValueError(
        f"problem_type {config.problem_type!r} is not one of 'regression', 'single_label_classification', "
        "'multi_label_classification'"
    )


def token_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over every position; label -100 marks positions to ignore (padding, sub-words)."""
    num_labels = logits.size(-1)
    flat_labels = labels.reshape(-1)
    check_ids_in_range(flat_labels[flat_labels != -100], num_labels, "labels", "num_labels / vocabulary size")
    return torch.nn.functional.cross_entropy(logits.reshape(-1, num_labels), flat_labels)


def _qualified_name(cls) -> str:
    # "modeling_notes_bert.NotesBertModel": the form auto_map uses (file name in the saved folder + class name);
    # the last module component also works when the class itself was loaded as remote code
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"


class NotesSaveWithCodeMixin:
    """Makes a saved folder loadable without hf_nlpnotes: `AutoX.from_pretrained(folder, trust_remote_code=True)`.

    transformers copies the defining files of a class registered with `register_for_auto_class`, but records only the
    saved class's own Auto class in `auto_map`; a folder saved from the masked-LM model could then not be opened with
    `AutoModel`. This mixin writes the whole map (AutoConfig, AutoModel and every head) before each save, Trainer
    checkpoints included.
    """

    notes_auto_classes: dict = {}

    def save_pretrained(self, save_directory, *args, **kwargs):
        auto_map = dict(getattr(self.config, "auto_map", None) or {})
        auto_map["AutoConfig"] = _qualified_name(type(self.config))
        auto_map.update({name: _qualified_name(cls) for name, cls in self.notes_auto_classes.items()})
        self.config.auto_map = auto_map
        return super().save_pretrained(save_directory, *args, **kwargs)

    def model_card(self, repo_id: str, trainer_state: dict | None = None, training_args: dict | None = None, datasets=None) -> str:
        """The README.md that `push_to_hub` uploads (see notes_model_card.py)."""
        return build_model_card(
            repo_id,
            self.config.model_type,
            auto_class=getattr(type(self), "_auto_class", None),
            class_name=type(self).__name__,
            num_parameters=self.num_parameters(),
            config_summary=self.card_config_summary(),
            trainer_state=trainer_state,
            training_args=training_args,
            datasets=datasets,
            auto_classes=list(self.notes_auto_classes),
        )

    def card_config_summary(self) -> dict:
        """A few config fields that say how big the model is; architectures may override."""
        names = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size",
                 "d_model", "encoder_layers", "decoder_layers", "depths", "hidden_sizes", "layer_type", "shortcut_type",
                 "use_se", "projection_dim", "lstm_cell_size", "num_layers")
        return {name: getattr(self.config, name) for name in names if getattr(self.config, name, None) is not None}

    def _upload_modified_files(self, working_dir, repo_id, *args, **kwargs):
        # push_to_hub has saved the model and transformers' template card into working_dir: put ours in its place
        write_card(working_dir, self.model_card(repo_id))
        return super()._upload_modified_files(working_dir, repo_id, *args, **kwargs)


def register_auto_classes(config_class, base_model_class, auto_classes: dict):
    """Called once at the end of each modeling file (so it also runs when the file is loaded as remote code):
    `auto_classes` maps Auto class names to this architecture's classes. The same table drives the package's
    registration with the Auto classes (hf_nlpnotes/registration.py)."""
    config_class.register_for_auto_class("AutoConfig")
    for auto_name, model_class in auto_classes.items():
        model_class.register_for_auto_class(auto_name)
    base_model_class.notes_auto_classes = dict(auto_classes)
