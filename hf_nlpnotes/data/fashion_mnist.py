"""Fashion-MNIST (Xiao et al., 2017; MIT licence) from the IDX files of the Debian package `dataset-fashion-mnist`.

`apt-get install -y dataset-fashion-mnist` puts `{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz` under
/usr/share/datasets/fashion-mnist/: 60,000 + 10,000 grayscale 28×28 images in 10 classes.
"""

import gzip
import os
import struct
from pathlib import Path

import numpy as np

FASHION_MNIST_DIR = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_FILE_PREFIX = {"train": "train", "test": "t10k"}


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format): magic (0, 0, dtype code, ndim), big-endian int32 sizes, then the data."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {data[:4].hex()})")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist_arrays(split: str = "train", directory: str | os.PathLike | None = None):
    """(images uint8 [N, 28, 28], labels int64 [N]) of `split` ("train" or "test")."""
    if split not in _FILE_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    directory = Path(directory) if directory is not None else FASHION_MNIST_DIR
    prefix = _FILE_PREFIX[split]
    images_path = directory / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = directory / f"{prefix}-labels-idx1-ubyte.gz"
    for path in (images_path, labels_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: install the Debian package dataset-fashion-mnist "
                "(apt-get install -y dataset-fashion-mnist) or pass the folder holding the IDX files"
            )
    images, labels = _read_idx(images_path), _read_idx(labels_path).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    return images, labels


def load_fashion_mnist(split: str = "train", limit: int | None = None, directory=None, seed: int | None = None):
    """A `datasets.Dataset` with columns `image` (PIL, mode "L") and `label` (ClassLabel with the class names).

    `limit` keeps the first `limit` examples (after a shuffle with `seed`, when given).
    """
    import datasets

    images, labels = fashion_mnist_arrays(split, directory)
    order = np.arange(len(labels))
    if seed is not None:
        order = np.random.default_rng(seed).permutation(order)
    if limit is not None:
        order = order[:limit]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=LABELS)})
    from PIL import Image

    return datasets.Dataset.from_dict(
        {"image": [Image.fromarray(images[i]) for i in order], "label": labels[order].tolist()},
        features=features,
    )


__all__ = ["FASHION_MNIST_DIR", "LABELS", "fashion_mnist_arrays", "load_fashion_mnist"]
