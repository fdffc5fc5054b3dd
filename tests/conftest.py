import os
import tempfile
from pathlib import Path

# offline, and a private HF cache, before transformers / huggingface_hub are imported anywhere
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="hf_nlpnotes_tests_hf_home_"))

import pytest  # noqa: E402
import torch  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]

# Prepended to code run in a subprocess that must work without hf_nlpnotes: any import of it fails there, so
# everything the subprocess uses comes from the code saved with the model (trust_remote_code=True).
BLOCK_PACKAGE = """
import importlib.abc, sys
class _BlockPackage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "hf_nlpnotes" or name.startswith("hf_nlpnotes."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, _BlockPackage())
"""
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"needs the shared folder beside the repository ({SHARED}), which is missing")
    return SHARED
