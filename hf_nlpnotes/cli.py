"""`hf-nlpnotes`: train, convert, push and inspect hf_nlpnotes models from the command line.

    hf-nlpnotes train mlm --preset bert-mini --train_file corpus.txt --output_dir out/bert
    hf-nlpnotes convert bert path/to/transformers-bert out/notes-bert
    hf-nlpnotes push out/bert me/my-bert
    hf-nlpnotes info out/bert

`train RECIPE ...` runs the recipe of the corresponding example script (its own `--help` lists its options);
`convert ARCH ...` runs the converter of that architecture. Errors (missing files, wrong formats, unknown presets,
an existing output folder without --overwrite) are reported on one line and the command exits with status 1.
"""

import argparse
import importlib
import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path

RECIPES = {
    "mlm": ("run_mlm", "BERT masked-LM (+ --nsp) pretraining"),
    "classification": ("run_classification", "BERT sequence classification fine-tuning"),
    "elmo-bilm": ("run_elmo_bilm", "ELMo bidirectional language model pretraining"),
    "elmo-features": ("run_elmo_features", "frozen ELMo features + learned mix + task head"),
    "translation": ("run_translation", "encoder-decoder Transformer translation with Seq2SeqTrainer"),
    "image-classification": ("run_image_classification", "ResNet / SE-ResNet image classification"),
}
CONVERTERS = {
    "bert": ("hf_nlpnotes.converters.bert", "a folder saved by transformers' BERT classes"),
    "elmo": ("hf_nlpnotes.converters.elmo", "original bilm-tf / AllenNLP options.json + HDF5 weights"),
    "resnet": ("hf_nlpnotes.converters.resnet", "transformers ResNet folders or torchvision-style state dicts"),
}
# never uploaded by `push`: training leftovers (pickles) and checkpoint folders
PUSH_IGNORE = ("checkpoint*", "checkpoints", "runs", "training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state*")


class CommandError(Exception):
    """A user-facing error: printed on one line, exit status 1."""


def _recipe_module(name: str):
    module_name = RECIPES[name][0]
    try:  # a regular install ships the examples inside the package
        return importlib.import_module(f"hf_nlpnotes._examples.{module_name}")
    except ModuleNotFoundError:
        path = Path(__file__).resolve().parent.parent / "examples" / f"{module_name}.py"
        if not path.is_file():
            raise CommandError(f"the {name} recipe ({module_name}.py) is not installed")
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def command_train(args, rest):
    _recipe_module(args.recipe).main(rest)


def command_convert(args, rest):
    importlib.import_module(CONVERTERS[args.architecture][0]).main(rest)


def _read_config(folder: Path) -> dict:
    if not folder.is_dir():
        raise CommandError(f"folder not found: {folder}")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise CommandError(f"{folder} has no config.json; it is not a saved model folder")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as error:
        raise CommandError(f"{config_path} is not valid JSON: {error}")
    if not str(config.get("model_type", "")).startswith("notes_"):
        raise CommandError(f"{folder} holds a {config.get('model_type')!r} model, not an hf_nlpnotes one")
    return config


def _parameter_count(folder: Path) -> int | None:
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with safe_open(str(file), "pt") as handle:
            for key in handle.keys():
                count = 1
                for size in handle.get_slice(key).get_shape():
                    count *= size
                total += count
    return total


def _matching_presets(config: dict) -> list[str]:
    from .presets import list_presets, preset_dict

    matches = []
    for name in list_presets(config["model_type"]):
        fields = preset_dict(name)
        fields.pop("model_type")
        # transformers writes num_labels only as the length of id2label
        saved = dict(config, num_labels=len(config["id2label"])) if "id2label" in config else config
        if all(saved.get(key) == value for key, value in fields.items()):
            matches.append(name)
    return matches


def command_info(args, rest):
    folder = Path(args.folder)
    config = _read_config(folder)
    count = _parameter_count(folder)
    presets = _matching_presets(config)
    print(f"folder:        {folder.resolve()}")
    print(f"model_type:    {config['model_type']}")
    print(f"architecture:  {', '.join(config.get('architectures') or ['(not recorded)'])}")
    print(f"preset:        {', '.join(presets) if presets else '(none matches: custom configuration)'}")
    print(f"parameters:    {count:,}" if count is not None else "parameters:    (no safetensors weights in the folder)")
    print(f"loads without hf_nlpnotes: {'yes' if config.get('auto_map') else 'no (no auto_map recorded)'}")
    print("files:")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        print(f"  {path.relative_to(folder)}  ({path.stat().st_size:,} bytes)")


def _load_for_push(folder: Path, config: dict):
    import transformers

    import hf_nlpnotes

    class_name = (config.get("architectures") or [None])[0]
    model_class = getattr(hf_nlpnotes, class_name, None) if class_name else None
    if model_class is None:
        model_class = transformers.AutoModel
    model = model_class.from_pretrained(folder)
    processor = None
    if (folder / "tokenizer_config.json").is_file():
        processor = transformers.AutoTokenizer.from_pretrained(folder)
    elif (folder / "preprocessor_config.json").is_file():
        processor = transformers.AutoImageProcessor.from_pretrained(folder)
    return model, processor


def command_push(args, rest):
    from huggingface_hub import HfApi

    from .models.notes_model_card import write_card

    folder = Path(args.folder)
    config = _read_config(folder)
    model, processor = _load_for_push(folder, config)
    trainer_state = json.loads((folder / "trainer_state.json").read_text()) if (folder / "trainer_state.json").is_file() else None
    with tempfile.TemporaryDirectory() as staging:
        # re-saving guarantees the code files and the full auto_map, whatever wrote the folder
        model.save_pretrained(staging)
        if processor is not None:
            processor.save_pretrained(staging)
        for extra in folder.iterdir():
            target = Path(staging) / extra.name
            if extra.is_file() and not target.exists() and not any(extra.match(pattern) for pattern in PUSH_IGNORE):
                shutil.copy(extra, target)
        # a README.md the user wrote was copied above and is kept; otherwise the card is generated
        card = model.model_card(args.repo_id, trainer_state=trainer_state, datasets=args.dataset or None)
        write_card(staging, card)
        api = HfApi()
        api.create_repo(args.repo_id, private=args.private, exist_ok=True)
        info = api.upload_folder(
            folder_path=staging, repo_id=args.repo_id, commit_message=args.commit_message, revision=args.revision
        )
    print(f"pushed {folder} to {args.repo_id} (commit {info.oid})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hf-nlpnotes", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train with an example recipe",
        description="Run a training recipe; arguments after RECIPE go to the recipe (see `hf-nlpnotes train RECIPE --help`).\n"
        + "\n".join(f"  {name:<22} {text}" for name, (_, text) in RECIPES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("recipe", choices=sorted(RECIPES))
    train.set_defaults(handler=command_train, passthrough=True)

    convert = commands.add_parser(
        "convert", help="convert published weights into an hf_nlpnotes folder",
        description="Convert weights; arguments after ARCH go to the converter (see `hf-nlpnotes convert ARCH --help`).\n"
        + "\n".join(f"  {name:<8} {text}" for name, (_, text) in CONVERTERS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument("architecture", choices=sorted(CONVERTERS))
    convert.set_defaults(handler=command_convert, passthrough=True)

    push = commands.add_parser("push", help="upload a saved folder to a Hub repository, with its code and a model card")
    push.add_argument("folder")
    push.add_argument("repo_id", help="e.g. me/my-bert")
    push.add_argument("--revision", default=None, help="branch to push to (default: main)")
    push.add_argument("--private", action="store_true")
    push.add_argument("--commit_message", default="Upload with hf-nlpnotes")
    push.add_argument("--dataset", action="append", help="dataset the model was trained on (for the card); repeatable")
    push.set_defaults(handler=command_push, passthrough=False)

    info = commands.add_parser("info", help="describe a saved folder: architecture, preset, parameters, files")
    info.add_argument("folder")
    info.set_defaults(handler=command_info, passthrough=False)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # train/convert hand everything after their first argument to the recipe or converter (help included)
    if len(argv) >= 2 and argv[0] in ("train", "convert") and not argv[1].startswith("-"):
        args, rest = parser.parse_args(argv[:2]), argv[2:]
    else:
        args, rest = parser.parse_args(argv), []
    try:
        args.handler(args, rest)
    except CommandError as error:
        parser.exit(1, f"hf-nlpnotes: error: {error}\n")
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        parser.exit(1, f"hf-nlpnotes {args.command}: error: {error}\n")


if __name__ == "__main__":
    main()
