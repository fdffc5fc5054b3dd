"""Share on the Hub with code: push to a local Hub-compatible server, load back where hf_nlpnotes cannot be imported.

The server (tests/hub_server.py) runs in this process on 127.0.0.1; pushing and loading run in subprocesses that
point HF_ENDPOINT at it (huggingface_hub reads it at import). The loading subprocess blocks `import hf_nlpnotes`, so
everything it uses comes from the code saved in the repository (trust_remote_code=True).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file

from tests.conftest import BLOCK_PACKAGE, REPO_ROOT
from tests.hub_server import HubServer


# per architecture: code that builds (model, processor, inputs) with hf_nlpnotes, the Auto classes to load it back
# with, and the output field to compare
ARCHITECTURES = {
    "bert": dict(
        build="""
            from hf_nlpnotes import NotesBertConfig, NotesBertForMaskedLM, NotesBertTokenizer
            processor = NotesBertTokenizer.train_from_texts(["the earth was formless and empty"] * 10, vocab_size=60, min_frequency=1, show_progress=False)
            model = NotesBertForMaskedLM(NotesBertConfig(vocab_size=len(processor), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=40))
        """,
        model_auto="AutoModelForMaskedLM",
        processor_auto="AutoTokenizer",
        inputs="""inputs = dict(processor(["the earth was empty", "formless"], padding=True, return_tensors="pt"))""",
        output="logits",
        base_auto="AutoModel",
        pipeline_tag="fill-mask",
    ),
    "elmo": dict(
        build="""
            from hf_nlpnotes import NotesElmoModel, NotesElmoTokenizer, load_preset
            processor = NotesElmoTokenizer.build_from_texts(["the cat sat on the mat"])
            model = NotesElmoModel(load_preset("elmo-tiny"))
        """,
        model_auto="AutoModel",
        processor_auto="AutoTokenizer",
        inputs="""inputs = dict(processor(["the cat sat", "on the mat"], padding=True, return_tensors="pt"))""",
        output="last_hidden_state",
        base_auto="AutoModelForPreTraining",
        pipeline_tag="feature-extraction",
    ),
    "transformer": dict(
        build="""
            from hf_nlpnotes import NotesTransformerForConditionalGeneration, NotesTransformerTokenizer, load_preset
            processor = NotesTransformerTokenizer.train_from_texts(["the cat sat on the mat", "el gato se sienta"] * 5, vocab_size=80, min_frequency=1)
            model = NotesTransformerForConditionalGeneration(load_preset("transformer-tiny", vocab_size=len(processor)))
        """,
        model_auto="AutoModelForSeq2SeqLM",
        processor_auto="AutoTokenizer",
        inputs="""inputs = dict(processor(["the cat sat"], text_target=["el gato"], return_tensors="pt"))""",
        output="logits",
        base_auto="AutoModel",
        pipeline_tag="translation",
        generates=True,  # the saved code's generate() (it prepacks weights on CPU) must give the same tokens
    ),
    "resnet": dict(
        build="""
            from hf_nlpnotes import NotesResNetForImageClassification, NotesResNetImageProcessor, load_preset
            processor = NotesResNetImageProcessor(size={"shortest_edge": 40}, crop_size={"height": 32, "width": 32})
            model = NotesResNetForImageClassification(load_preset("resnet-20", num_labels=3))
        """,
        model_auto="AutoModelForImageClassification",
        processor_auto="AutoImageProcessor",
        inputs="""import numpy; from PIL import Image; inputs = dict(processor([Image.fromarray((numpy.arange(48 * 40 * 3) % 251).reshape(48, 40, 3).astype("uint8"))], return_tensors="pt"))""",
        output="logits",
        base_auto="AutoModel",
        pipeline_tag="image-classification",
    ),
}


def run_python(code: str, env: dict) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert done.returncode == 0, f"subprocess failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done.stdout


@pytest.fixture
def hub(tmp_path):
    with HubServer() as server:
        env = {
            **os.environ,
            "HF_ENDPOINT": server.url,
            "HF_TOKEN": "test-token",
            "HF_HOME": str(tmp_path / "hf_home"),
            "HF_HUB_OFFLINE": "0",
            "TRANSFORMERS_OFFLINE": "0",
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
        yield server, env


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_push_then_load_without_the_package(name, hub, tmp_path):
    server, env = hub
    spec = ARCHITECTURES[name]
    repo = f"tester/notes-{name}"
    push = textwrap.dedent(spec["build"]) + spec["inputs"] + "\n" + textwrap.dedent(
        f"""
        import json, torch
        from safetensors.torch import save_file
        torch.manual_seed(0)
        model.eval()
        first = model.push_to_hub("{repo}", commit_message="first")
        processor.push_to_hub("{repo}")
        with torch.no_grad():
            before = getattr(model(**inputs), "{spec['output']}")
            for parameter in model.parameters():
                parameter.add_(0.5)
            second = model.push_to_hub("{repo}", commit_message="changed weights")
            after = getattr(model(**inputs), "{spec['output']}")
        expected = {{"before": before.contiguous(), "after": after.contiguous()}}
        if {spec.get('generates', False)}:
            expected["tokens"] = model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=6)
        save_file(expected, r"{tmp_path / 'expected.safetensors'}")
        print(json.dumps({{"first": first.oid, "second": second.oid}}))
        """
    )
    commits = json.loads(run_python(push, env).strip().splitlines()[-1])
    assert commits["first"] != commits["second"]
    assert server.unknown_requests == []

    load = BLOCK_PACKAGE + textwrap.dedent(
        f"""
        import json, torch, transformers
        from safetensors.torch import save_file
        processor = transformers.{spec['processor_auto']}.from_pretrained("{repo}", trust_remote_code=True)
        {spec['inputs']}
        outputs = {{}}
        for key, revision in (("latest", None), ("pinned", "{commits['first']}")):
            model = transformers.{spec['model_auto']}.from_pretrained("{repo}", revision=revision, trust_remote_code=True).eval()
            assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
            with torch.no_grad():
                outputs[key] = getattr(model(**inputs), "{spec['output']}").contiguous()
            if key == "latest" and {spec.get('generates', False)}:
                outputs["tokens"] = model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"], max_new_tokens=6)
        base = transformers.{spec['base_auto']}.from_pretrained("{repo}", trust_remote_code=True)
        config = transformers.AutoConfig.from_pretrained("{repo}", trust_remote_code=True)
        save_file(outputs, r"{tmp_path / 'loaded.safetensors'}")
        print(json.dumps({{"base": type(base).__name__, "config": type(config).__name__, "hf_nlpnotes_loaded": "hf_nlpnotes" in __import__("sys").modules}}))
        """
    )
    report = json.loads(run_python(load, env).strip().splitlines()[-1])
    assert report["hf_nlpnotes_loaded"] is False
    expected, loaded = load_file(tmp_path / "expected.safetensors"), load_file(tmp_path / "loaded.safetensors")
    torch.testing.assert_close(loaded["latest"], expected["after"], rtol=0, atol=0)
    torch.testing.assert_close(loaded["pinned"], expected["before"], rtol=0, atol=0)
    if spec.get("generates"):
        assert torch.equal(loaded["tokens"], expected["tokens"])

    card_text = server.repos[repo].resolve("main").files["README.md"].decode()
    card = ModelCard(card_text)
    assert card.data.library_name == "transformers"
    assert {"hf_nlpnotes", f"notes_{name}"} <= set(card.data.tags)
    assert card.data.pipeline_tag == spec["pipeline_tag"]
    assert card.data.license == "apache-2.0"
    assert "trust_remote_code=True" in card_text and "import hf_nlpnotes" in card_text
