"""Convert a folder saved by transformers' BERT classes into an hf_nlpnotes BERT folder.

Usage: python -m hf_nlpnotes.converters.bert SRC_DIR OUTPUT_DIR [--overwrite]

The module layouts are identical, so the work is in what real checkpoints carry besides the weights: base-model
checkpoints without the `bert.` prefix, legacy persistent `position_ids` / `token_type_ids` buffers, TF-era
`gamma`/`beta` LayerNorm names, MLM decoders stored only through their tied embedding, and `.bin` pickles.
"""

import argparse
import os
import re
from pathlib import Path

from transformers.utils import logging

from ..models.configuration_notes_bert import NotesBertConfig
from ..models import modeling_notes_bert as notes
from ..models.tokenization_notes_bert import NotesBertTokenizer
from .common import check_and_load, load_weight_file, prepare_output_dir, read_json

logger = logging.get_logger(__name__)

# transformers class name -> ours; the heads without a Notes counterpart are rejected with a clear message
CLASS_MAP = {
    "BertModel": notes.NotesBertModel,
    "BertForPreTraining": notes.NotesBertForPreTraining,
    "BertForMaskedLM": notes.NotesBertForMaskedLM,
    "BertForNextSentencePrediction": notes.NotesBertForNextSentencePrediction,
    "BertForSequenceClassification": notes.NotesBertForSequenceClassification,
    "BertForTokenClassification": notes.NotesBertForTokenClassification,
    "BertForQuestionAnswering": notes.NotesBertForQuestionAnswering,
    "BertForMultipleChoice": notes.NotesBertForMultipleChoice,
}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
CONFIG_FIELDS = [name for name in NotesBertConfig.__dataclass_fields__ if not name.startswith("_")]
LABEL_FIELDS = ("id2label", "label2id", "problem_type")
# buffers older transformers versions saved as persistent; they are recomputed and not part of the model
LEGACY_BUFFERS = re.compile(r"(^|\.)embeddings\.(position_ids|token_type_ids)$")


def _find_weights(src: Path) -> Path:
    for name in WEIGHT_FILES:
        if (src / name).is_file():
            return src / name
    raise FileNotFoundError(f"{src} has no weight file; expected one of {', '.join(WEIGHT_FILES)}")


def _notes_config(source_config: dict, src: Path) -> NotesBertConfig:
    if source_config.get("model_type") not in ("bert", None):
        raise ValueError(f"{src}/config.json has model_type {source_config['model_type']!r}; expected a BERT ('bert')")
    fields = {key: source_config[key] for key in CONFIG_FIELDS if key in source_config}
    fields.update({key: source_config[key] for key in LABEL_FIELDS if key in source_config})
    if isinstance(fields.get("id2label"), dict):
        fields["id2label"] = {int(key): value for key, value in fields["id2label"].items()}
    return NotesBertConfig(**fields)


def _rename_legacy_keys(state_dict: dict) -> dict:
    renamed = {}
    for key, value in state_dict.items():
        if LEGACY_BUFFERS.search(key):
            continue
        key = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", key)
        key = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key)
        renamed[key] = value
    return renamed


def _pick_class(source_config: dict, state_dict: dict):
    architectures = source_config.get("architectures") or []
    for name in architectures:
        if name in CLASS_MAP:
            return CLASS_MAP[name]
    if architectures:
        raise ValueError(f"architecture {architectures[0]} has no hf_nlpnotes counterpart; supported: {', '.join(CLASS_MAP)}")
    # no record of the class: infer it from the heads present
    has_mlm = any(key.startswith("cls.predictions.") for key in state_dict)
    has_nsp = any(key.startswith("cls.seq_relationship.") for key in state_dict)
    if has_mlm and has_nsp:
        return notes.NotesBertForPreTraining
    if has_mlm:
        return notes.NotesBertForMaskedLM
    return notes.NotesBertModel


def _fit_prefix(state_dict: dict, model_class) -> dict:
    """Base-model checkpoints store `embeddings.*`; head models expect `bert.embeddings.*`, and vice versa."""
    wants_prefix = model_class is not notes.NotesBertModel
    has_prefix = any(key.startswith("bert.") for key in state_dict)
    if wants_prefix and not has_prefix:
        return {
            (key if key.startswith(("cls.", "classifier.", "qa_outputs.")) else f"bert.{key}"): value
            for key, value in state_dict.items()
        }
    if not wants_prefix and has_prefix:
        return {key[len("bert.") :]: value for key, value in state_dict.items() if key.startswith("bert.")}
    return state_dict


def _tokenizer(src: Path, source_tokenizer_config: dict) -> NotesBertTokenizer:
    options = {
        key: source_tokenizer_config[key]
        for key in ("do_lower_case", "strip_accents", "tokenize_chinese_chars", "model_max_length")
        if key in source_tokenizer_config and source_tokenizer_config[key] is not None
    }
    if (src / "vocab.txt").is_file():
        return NotesBertTokenizer(vocab=str(src / "vocab.txt"), **options)
    if (src / "tokenizer.json").is_file():
        model = read_json(src / "tokenizer.json").get("model", {})
        if model.get("type") != "WordPiece":
            raise ValueError(f"{src}/tokenizer.json holds a {model.get('type')} model; a BERT needs WordPiece")
        return NotesBertTokenizer(vocab=model["vocab"], **options)
    raise FileNotFoundError(f"{src} has no vocab.txt or tokenizer.json")


def convert_transformers_bert(src_dir, output_dir, overwrite: bool = False):
    """Converts a transformers BERT folder (config.json, weights, vocab.txt or tokenizer.json) and returns the model.

    The output folder loads with `AutoModel*` / `AutoTokenizer` after `import hf_nlpnotes`. An existing non-empty
    output folder is only replaced with `overwrite=True`.
    """
    src = Path(src_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"source folder not found: {src}")
    if not (src / "config.json").is_file():
        raise FileNotFoundError(f"{src} has no config.json")
    source_config = read_json(src / "config.json")
    config = _notes_config(source_config, src)
    tokenizer_config = read_json(src / "tokenizer_config.json") if (src / "tokenizer_config.json").is_file() else {}
    tokenizer = _tokenizer(src, tokenizer_config)
    weights = _find_weights(src)
    state_dict = _rename_legacy_keys(load_weight_file(weights))

    model_class = _pick_class(source_config, state_dict)
    state_dict = _fit_prefix(state_dict, model_class)
    model = model_class(config)
    tied = [key for key in model.state_dict() if key.startswith("cls.predictions.decoder.")]
    check_and_load(model, state_dict, str(weights), allowed_missing=tied)
    model.tie_weights()

    out = prepare_output_dir(output_dir, overwrite)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    logger.info(f"converted {src} ({model_class.__name__}) to {out}")
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m hf_nlpnotes.converters.bert",
        description="Convert a folder saved by transformers' BERT classes into an hf_nlpnotes BERT folder.",
    )
    parser.add_argument("src_dir", help="folder with config.json, model.safetensors or pytorch_model.bin, vocab.txt or tokenizer.json")
    parser.add_argument("output_dir", help="where to write the hf_nlpnotes folder")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing non-empty output folder")
    args = parser.parse_args(argv)
    try:
        model = convert_transformers_bert(args.src_dir, args.output_dir, overwrite=args.overwrite)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        parser.exit(1, f"error: {error}\n")
    print(f"wrote {type(model).__name__} to {os.path.abspath(args.output_dir)}")


if __name__ == "__main__":
    main()
