"""Named configurations ("presets") for every architecture, stored as JSON files in `configuration/`.

One mechanism for all architectures: a preset file is a config dict with its `model_type`; `load_preset` builds
the config of the class registered for that model type, so the result is a `NotesBertConfig`, a `NotesElmoConfig`,
... as the file says. The files ship inside the wheel as the package `hf_nlpnotes._preset_files` (see setup.cfg),
so presets work after a regular, non-editable install as well as from a source checkout.
"""

import json
from importlib import resources
from pathlib import Path

from transformers import AutoConfig, PreTrainedConfig

_SOURCE_CHECKOUT_DIR = Path(__file__).resolve().parent.parent / "configuration"


def _preset_files() -> dict[str, "resources.abc.Traversable"]:
    try:
        root = resources.files("hf_nlpnotes._preset_files")
    except ModuleNotFoundError:  # running from a source checkout that was never installed
        root = _SOURCE_CHECKOUT_DIR
    return {entry.name[: -len(".json")]: entry for entry in root.iterdir() if entry.name.endswith(".json")}


def list_presets(model_type: str | None = None) -> list[str]:
    """Names of all presets, optionally only those of one `model_type` (e.g. "notes_bert")."""
    files = _preset_files()
    if model_type is None:
        return sorted(files)
    return sorted(name for name, entry in files.items() if json.loads(entry.read_text())["model_type"] == model_type)


def preset_dict(name: str) -> dict:
    """The raw contents of a preset file."""
    files = _preset_files()
    if name not in files:
        raise ValueError(f"unknown preset {name!r}; available presets: {', '.join(sorted(files))}")
    return json.loads(files[name].read_text())


def load_preset(name: str, **overrides) -> PreTrainedConfig:
    """The config of preset `name`, with `overrides` applied (e.g. `load_preset("bert-mini", vocab_size=8000)`).

    The overrides go through the config's own validation, like any constructor argument.
    """
    import hf_nlpnotes  # noqa: F401  (registers the model types with AutoConfig)

    fields = preset_dict(name)
    model_type = fields.pop("model_type")
    fields.update(overrides)
    return AutoConfig.for_model(model_type, **fields)
