"""A regular (non-editable) install carries the presets and registers every architecture."""

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def test_non_editable_install_has_presets(tmp_path):
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("needs setuptools to build the package without network access")
    target = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(REPO_ROOT)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    probe = (
        "import json, hf_nlpnotes, hf_nlpnotes.data.bible, hf_nlpnotes.cli; "
        "from hf_nlpnotes.cli import RECIPES, _recipe_module; "
        "recipes = {name: _recipe_module(name).__name__ for name in RECIPES}; "
        "print(json.dumps({'file': hf_nlpnotes.__file__, 'presets': hf_nlpnotes.list_presets(), "
        "'mini': type(hf_nlpnotes.load_preset('bert-mini')).__name__, 'recipes': recipes}))"
    )
    # run from an empty folder with only the installed copy on the path: the source checkout must not be used
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
        env={"PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["file"].startswith(str(target))
    shipped = sorted(path.stem for path in (REPO_ROOT / "configuration").glob("*.json"))
    assert result["presets"] == shipped and "bert-mini" in shipped
    assert result["mini"] == "NotesBertConfig"
    # `hf-nlpnotes train` finds every recipe inside the installed package, not in a source checkout
    assert all(module.startswith("hf_nlpnotes._examples.") for module in result["recipes"].values()), result["recipes"]
