"""Sentence polarity data with human ratings (Hutto & Gilbert, ICWSM 2014), from the source archive of vaderSentiment.

The ratings (mean of human judgements, -4 .. +4) ship only inside the *source* distribution of
`vaderSentiment==3.3.2` (additional_resources/hutto_ICWSM_2014.tar.gz), not in its wheel, and their redistribution
terms are unclear: they are fetched from PyPI at run time with pip and cached, never committed.
Domains: movie snippets (10,605), tweets, editorial snippets, product reviews.
"""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from transformers.utils import logging

from .bible import DEFAULT_CACHE

logger = logging.get_logger(__name__)

DOMAINS = {
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "tweets": "tweets_GroundTruth.txt",
    "editorials": "nytEditorialSnippets_GroundTruth.txt",
    "products": "amazonReviewSnippets_GroundTruth.txt",
}
SOURCE_ARCHIVE = "vaderSentiment-3.3.2.tar.gz"
INNER_ARCHIVE = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"


def polarity_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Folder holding the unpacked ground-truth files, downloaded with pip on first use."""
    cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    target = cache_dir / "hutto_ICWSM_2014"
    if (target / DOMAINS["movies"]).is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    archive = cache_dir / SOURCE_ARCHIVE
    if not archive.is_file():
        logger.warning("downloading the vaderSentiment 3.3.2 source archive from PyPI (sentence polarity ratings)")
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                   "vaderSentiment==3.3.2", "-d", str(cache_dir)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not archive.is_file():
            raise RuntimeError(f"could not download vaderSentiment==3.3.2 with pip: {done.stderr.strip()[-500:]}")
    with tarfile.open(archive) as outer:
        inner = outer.extractfile(INNER_ARCHIVE)
        if inner is None:
            raise RuntimeError(f"{archive} has no {INNER_ARCHIVE}")
        with tarfile.open(fileobj=inner) as data:
            members = [m for m in data.getmembers() if m.name.endswith("_GroundTruth.txt")]
            data.extractall(cache_dir, members=members, filter="data")
    return target


def load_polarity(domain: str = "movies", cache_dir=None, drop_neutral: bool = True) -> tuple[list[str], list[int], list[float]]:
    """(texts, binary labels 1 = positive / 0 = negative, mean ratings) for one domain.

    The label is the sign of the mean human rating; sentences rated exactly 0 are dropped when `drop_neutral`.
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown polarity domain {domain!r}; choose one of {list(DOMAINS)}")
    path = polarity_dir(cache_dir) / DOMAINS[domain]
    texts, labels, ratings = [], [], []
    with open(path, encoding="latin-1") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            rating = float(parts[1])
            if rating == 0 and drop_neutral:
                continue
            texts.append(parts[2].strip())
            labels.append(int(rating > 0))
            ratings.append(rating)
    return texts, labels, ratings
