"""Part-of-speech data: CoNLL-U treebanks, by default the Turkish treebanks of `pip install turkish-treebanks==1.0.0`
(Apache-2.0; `data/web.conllu` and `data/wiki.conllu` inside the installed package: 4,851 sentences, universal tags)."""

import os
from pathlib import Path

TURKISH_TREEBANKS_REQUIREMENT = "turkish-treebanks==1.0.0"


def turkish_treebank_files() -> list[Path]:
    """The CoNLL-U files of the installed `turkish-treebanks` package."""
    from importlib import metadata

    try:
        files = metadata.files("turkish-treebanks") or []
    except metadata.PackageNotFoundError as error:
        raise ImportError(
            f"the POS treebank needs the package {TURKISH_TREEBANKS_REQUIREMENT}: pip install {TURKISH_TREEBANKS_REQUIREMENT}"
        ) from error
    paths = sorted(Path(file.locate()) for file in files if str(file).endswith(".conllu"))
    if not paths:
        raise FileNotFoundError("the turkish-treebanks package holds no .conllu files")
    return paths


def read_conllu(path: str | os.PathLike) -> list[tuple[list[str], list[str]]]:
    """(words, universal POS tags) of every sentence; multi-word token ranges (1-2) and empty nodes (1.1) skipped."""
    sentences, words, tags = [], [], []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line:
                if words:
                    sentences.append((words, tags))
                words, tags = [], []
                continue
            if line.startswith("#"):
                continue
            columns = line.split("\t")
            if len(columns) < 4:
                raise ValueError(f"{path}:{line_number}: not a CoNLL-U token line (expected 10 tab-separated columns)")
            if "-" in columns[0] or "." in columns[0]:
                continue
            words.append(columns[1])
            tags.append(columns[3])
    if words:
        sentences.append((words, tags))
    return sentences


def pos_sentences(paths: list[str | os.PathLike] | None = None) -> tuple[list[list[str]], list[list[str]]]:
    """(sentences as word lists, their tag lists) of CoNLL-U files (default: the Turkish treebanks)."""
    sentences = [pair for path in (paths or turkish_treebank_files()) for pair in read_conllu(path)]
    return [words for words, _ in sentences], [tags for _, tags in sentences]


__all__ = ["pos_sentences", "read_conllu", "turkish_treebank_files"]
