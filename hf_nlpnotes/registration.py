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
from .models import configuration_notes_transformer, modeling_notes_transformer, tokenization_notes_transformer
from .models import configuration_notes_resnet, image_processing_notes_resnet, modeling_notes_resnet
from .models import configuration_notes_elmo, modeling_notes_elmo, tokenization_notes_elmo

ARCHITECTURES = [
    {
        "config": configuration_notes_bert.NotesBertConfig,
        "models": modeling_notes_bert.AUTO_CLASSES,
        "tokenizer": tokenization_notes_bert.NotesBertTokenizer,
    },
    {
        "config": configuration_notes_transformer.NotesTransformerConfig,
        "models": modeling_notes_transformer.AUTO_CLASSES,
        "tokenizer": tokenization_notes_transformer.NotesTransformerTokenizer,
    },
    {
        "config": configuration_notes_resnet.NotesResNetConfig,
        "models": modeling_notes_resnet.AUTO_CLASSES,
        "image_processor": image_processing_notes_resnet.NotesResNetImageProcessor,
    },
    {
        "config": configuration_notes_elmo.NotesElmoConfig,
        "models": modeling_notes_elmo.AUTO_CLASSES,
        "tokenizer": tokenization_notes_elmo.NotesElmoTokenizer,
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
