"""English–Spanish parallel verses: the World English Bible and the Reina-Valera 1909, aligned verse by verse.

Both Bibles come from Debian's SWORD modules (`apt-get install sword-text-web sword-text-sparv`, read with pysword;
see `bible.py`). Verses are joined on (book, chapter, verse); verses present in only one of the two are dropped.
The result is cached as a TSV of `english<TAB>spanish` lines (about 31,000 pairs), which is also the format every
translation example accepts as `--train_file` (any TSV of source/target pairs works).
"""

import os
import random
from pathlib import Path

from .bible import DEFAULT_CACHE, ENGLISH_WEB, SPANISH_RV1909, bible_verses_file


def _read_verses(path: Path) -> dict[tuple[str, str, str], str]:
    verses = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            book, chapter, verse, text = line.rstrip("\n").split("\t", 3)
            verses[(book, chapter, verse)] = text
    return verses


def align_verses(source_verses_file, target_verses_file, output_file) -> int:
    """Writes `source<TAB>target` for every (book, chapter, verse) found in both `book\\tchapter\\tverse\\ttext`
    files, in the source file's order. Tabs and newlines inside verses are replaced by spaces. Returns the count."""
    target = _read_verses(Path(target_verses_file))
    count = 0
    partial = Path(str(output_file) + ".partial")
    with open(source_verses_file, encoding="utf-8") as source, open(partial, "w", encoding="utf-8") as out:
        for line in source:
            book, chapter, verse, text = line.rstrip("\n").split("\t", 3)
            translation = target.get((book, chapter, verse))
            if translation and text.strip():
                out.write(f"{text.strip()}\t{translation.strip()}\n")
                count += 1
    partial.rename(output_file)  # only a complete file is ever cached
    return count


def english_spanish_pairs_file(cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of the cached `english<TAB>spanish` verse-pair TSV, built on first use (needs the SWORD modules)."""
    cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    path = cache_dir / f"{ENGLISH_WEB}-{SPANISH_RV1909}.pairs.tsv"
    if not path.exists():
        english = bible_verses_file(ENGLISH_WEB, cache_dir)
        spanish = bible_verses_file(SPANISH_RV1909, cache_dir)
        align_verses(english, spanish, path)
    return path


def read_pairs(path: str | os.PathLike, limit: int | None = None) -> list[tuple[str, str]]:
    """(source, target) pairs from a TSV whose first two columns are source and target; blank lines are skipped."""
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            columns = line.split("\t")
            if len(columns) < 2 or not columns[0].strip() or not columns[1].strip():
                raise ValueError(f"{path}:{line_number} is not a `source<TAB>target` pair: {line[:80]!r}")
            pairs.append((columns[0].strip(), columns[1].strip()))
            if limit is not None and len(pairs) >= limit:
                break
    return pairs


def split_pairs(pairs: list, test_size: int, seed: int = 0) -> tuple[list, list]:
    """A shuffled (train, held-out) split with `test_size` held-out pairs."""
    if not 0 < test_size < len(pairs):
        raise ValueError(f"test_size must be in (0, {len(pairs)}), got {test_size}")
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    return shuffled[test_size:], shuffled[:test_size]
