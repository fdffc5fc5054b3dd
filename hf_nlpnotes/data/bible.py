"""Bible texts from Debian's SWORD modules (public domain), read with pysword.

The World English Bible (`apt-get install sword-text-web`, module engWEB2015eb) is the default English corpus of the
pretraining examples; the Spanish Reina-Valera 1909 (`sword-text-sparv`, module spaRV1909eb) pairs with it verse by
verse for translation. Reading all 37k verses of the OSIS markup takes about a minute, so the plain text is cached.
"""

import html
import os
import re
from collections.abc import Iterator
from pathlib import Path

from transformers.utils import logging

logger = logging.get_logger(__name__)

SWORD_PATH = os.environ.get("SWORD_PATH", "/usr/share/sword")
ENGLISH_WEB = "engWEB2015eb"
SPANISH_RV1909 = "spaRV1909eb"
DEBIAN_PACKAGE = {ENGLISH_WEB: "sword-text-web", SPANISH_RV1909: "sword-text-sparv"}
DEFAULT_CACHE = Path(os.environ.get("HF_NLPNOTES_CACHE", Path.home() / ".cache" / "hf_nlpnotes"))

# footnotes and cross references are not part of the running text; every other tag is replaced by a space
# (pysword's clean=True glues neighbouring words together)
_NOTE = re.compile(r"<note\b.*?</note>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def clean_osis(markup: str) -> str:
    text = _TAG.sub(" ", _NOTE.sub(" ", markup))
    text = html.unescape(text)
    text = _SPACES.sub(" ", text).strip()
    # the tag-to-space replacement leaves a space before punctuation ("God , the"): undo it
    return re.sub(r" ([,.;:!?’”)])", r"\1", text)


def _open_bible(module: str):
    try:
        from pysword.modules import SwordModules
    except ImportError as error:
        raise ImportError("reading the SWORD Bibles needs pysword: pip install pysword==0.2.8") from error
    if not os.path.isdir(SWORD_PATH):
        raise FileNotFoundError(
            f"no SWORD modules in {SWORD_PATH}; install them with apt-get install {DEBIAN_PACKAGE.get(module, module)}"
        )
    modules = SwordModules(SWORD_PATH)
    found = modules.parse_modules()
    if module not in found:
        raise FileNotFoundError(
            f"SWORD module {module} not found in {SWORD_PATH}; install it with apt-get install "
            f"{DEBIAN_PACKAGE.get(module, module)}"
        )
    return modules.get_bible_from_module(module)


def iter_verses(module: str = ENGLISH_WEB) -> Iterator[tuple[str, int, int, str]]:
    """Yields (book OSIS name, chapter, verse, plain text) for every non-empty verse, in canonical order."""
    bible = _open_bible(module)
    for testament in bible.get_structure().get_books().values():
        for book in testament:
            for chapter in range(1, book.num_chapters + 1):
                for verse, markup in enumerate(
                    bible.get_iter(books=[book.osis_name], chapters=[chapter], clean=False), start=1
                ):
                    text = clean_osis(markup)
                    if text:
                        yield book.osis_name, chapter, verse, text


def bible_verses_file(module: str = ENGLISH_WEB, cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of a UTF-8 file with one verse a line as `book<TAB>chapter<TAB>verse<TAB>text`, built on first use."""
    cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    path = cache_dir / f"{module}.verses.tsv"
    if path.exists():
        return path
    from tqdm.auto import tqdm

    cache_dir.mkdir(parents=True, exist_ok=True)
    logger.warning(f"extracting {module} from {SWORD_PATH} to {path} (once, about a minute)")
    partial = path.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        for book, chapter, verse, text in tqdm(iter_verses(module), desc=f"reading {module}", unit=" verses"):
            handle.write(f"{book}\t{chapter}\t{verse}\t{text}\n")
    partial.rename(path)  # only a complete extraction is ever cached
    return path


def bible_text_file(module: str = ENGLISH_WEB, cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of a plain-text file with one verse a line (the pretraining corpus), built on first use."""
    verses = bible_verses_file(module, cache_dir)
    path = verses.with_name(f"{module}.txt")
    if not path.exists():
        with open(verses, encoding="utf-8") as source, open(path, "w", encoding="utf-8") as target:
            for line in source:
                target.write(line.rstrip("\n").split("\t", 3)[3] + "\n")
    return path


def bible_available(module: str = ENGLISH_WEB) -> bool:
    try:
        _open_bible(module)
        return True
    except (ImportError, FileNotFoundError):
        return False
