"""Registration of every hf_nlpnotes architecture with the transformers Auto classes: the one place it happens.

`register_all()` runs once when `hf_nlpnotes` is imported. Each architecture is one entry of `ARCHITECTURES`:
its config, the model class for each Auto class, and its tokenizer or image processor.
"""

import transformers
from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer

from .models import (
    configuration_notes_bert,
    modeling_notes_bert,
    tokenization_notes_bert,
)

ARCHITECTURES = [
    {
        "config": configuration_notes_bert.NotesBertConfig,
        "models": {
            "AutoModel": modeling_notes_bert.NotesBertModel,
            "AutoModelForPreTraining": modeling_notes_bert.NotesBertForPreTraining,
            "AutoModelForMaskedLM": modeling_notes_bert.NotesBertForMaskedLM,
            "AutoModelForNextSentencePrediction": modeling_notes_bert.NotesBertForNextSentencePrediction,
            "AutoModelForSequenceClassification": modeling_notes_bert.NotesBertForSequenceClassification,
            "AutoModelForTokenClassification": modeling_notes_bert.NotesBertForTokenClassification,
            "AutoModelForQuestionAnswering": modeling_notes_bert.NotesBertForQuestionAnswering,
            "AutoModelForMultipleChoice": modeling_notes_bert.NotesBertForMultipleChoice,
        },
        "tokenizer": tokenization_notes_bert.NotesBertTokenizer,
    },
]

_registered = False


def register_all():
    global _registered
    if _registered:
        return
    for architecture in ARCHITECTURES:
        config_class = architecture["config"]
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        for auto_class_name, model_class in architecture["models"].items():
            getattr(transformers, auto_class_name).register(config_class, model_class, exist_ok=True)
        if architecture.get("tokenizer") is not None:
            AutoTokenizer.register(config_class, tokenizer_class=architecture["tokenizer"], exist_ok=True)
        if architecture.get("image_processor") is not None:
            AutoImageProcessor.register(
                config_class, image_processor_classes={"pil": architecture["image_processor"]}, exist_ok=True
            )
    _registered = True
