"""NotesResNet: parameter counts of the reference networks, shortcut options, SE, channels_last, outputs, bad input."""

import pytest
import torch

from tests.conftest import BLOCK_PACKAGE
from torch import nn
from transformers import AutoBackbone, AutoConfig, AutoModel, AutoModelForImageClassification

import hf_nlpnotes
from hf_nlpnotes import (
    NotesResNetBackbone,
    NotesResNetConfig,
    NotesResNetForImageClassification,
    NotesResNetModel,
    SqueezeExcitation,
    load_preset,
)
from hf_nlpnotes.models.modeling_notes_resnet import NotesResNetZeroPadShortCut


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks run fastest on one thread, and a busy shared CI machine makes 2-thread regions wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# torchvision's / the papers' reference counts (1000 classes; shortcut B; stride on the 3x3 of the bottleneck)
IMAGENET_COUNTS = {
    "resnet-18": 11_689_512,
    "resnet-34": 21_797_672,
    "resnet-50": 25_557_032,
    "resnet-101": 44_549_160,
    "resnet-152": 60_192_808,
}
# He et al. 2016, Table 6 (CIFAR-10), in millions
CIFAR_COUNTS = {"resnet-20": 0.27, "resnet-32": 0.46, "resnet-44": 0.66, "resnet-56": 0.85, "resnet-110": 1.7}


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def build_on_meta(config) -> NotesResNetForImageClassification:
    # the structure alone decides the count; the meta device skips allocating and initialising 60M weights
    with torch.device("meta"):
        return NotesResNetForImageClassification(config)


def tiny_config(**overrides) -> NotesResNetConfig:
    fields = dict(
        embedding_size=8, hidden_sizes=[16, 32], depths=[1, 2], layer_type="bottleneck", num_labels=3
    )
    fields.update(overrides)
    return NotesResNetConfig(**fields)


def randomise_batch_norms(model: nn.Module):
    """Non-trivial BN statistics and affine parameters, so eval-mode comparisons test more than the identity."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(module.num_features, generator=generator) * 0.1)


@pytest.mark.parametrize("name,expected", IMAGENET_COUNTS.items())
def test_imagenet_parameter_counts(name, expected):
    config = load_preset(name)
    assert (config.shortcut_type, config.downsample_in_bottleneck, config.num_labels) == ("B", False, 1000)
    assert count_parameters(build_on_meta(config)) == expected


def test_stride_position_does_not_change_the_count():
    config = load_preset("resnet-50", downsample_in_bottleneck=True)
    assert count_parameters(build_on_meta(config)) == IMAGENET_COUNTS["resnet-50"]


@pytest.mark.parametrize("depth", [50, 101, 152])
def test_se_resnet_counts(depth):
    config = load_preset(f"se-resnet-{depth}")
    assert config.use_squeeze_excitation and config.se_reduction == 16
    # every block adds two 1x1 convolutions with bias: C -> C/16 -> C on its output width C
    se_parameters = sum(
        2 * width * (width // 16) + width // 16 + width for width, blocks in zip(config.hidden_sizes, config.depths)
        for _ in range(blocks)
    )
    total = count_parameters(build_on_meta(config))
    assert total == IMAGENET_COUNTS[f"resnet-{depth}"] + se_parameters
    if depth == 50:
        assert round(total / 1e6, 2) == 28.09  # SENet paper, Table 1


@pytest.mark.parametrize("name,millions", CIFAR_COUNTS.items())
def test_cifar_parameter_counts(name, millions):
    config = load_preset(name)
    assert (config.stem_type, config.shortcut_type, config.num_labels) == ("cifar", "A", 10)
    depth = 6 * config.depths[0] + 2
    assert f"resnet-{depth}" == name
    model = NotesResNetForImageClassification(config)
    assert count_parameters(model) == pytest.approx(millions * 1e6, rel=0.03)
    # shortcut A has no parameters anywhere
    assert not any("shortcut" in name for name, _ in model.named_parameters())


def test_shortcut_kinds_per_option():
    def shortcut_kinds(config):
        model = NotesResNetModel(config)
        return [type(block.shortcut).__name__ for stage in model.encoder.stages for block in stage.layers]

    base = dict(layer_type="basic", embedding_size=8, hidden_sizes=[8, 16], depths=[2, 2])
    assert shortcut_kinds(tiny_config(**base, shortcut_type="A")) == [
        "Identity", "Identity", "NotesResNetZeroPadShortCut", "Identity"
    ]
    assert shortcut_kinds(tiny_config(**base, shortcut_type="B")) == [
        "Identity", "Identity", "NotesResNetShortCut", "Identity"
    ]
    assert shortcut_kinds(tiny_config(**base, shortcut_type="C")) == ["NotesResNetShortCut"] * 4


def test_zero_padding_shortcut_pads_the_subsampled_input_with_zeros():
    shortcut = NotesResNetZeroPadShortCut(in_channels=3, out_channels=5, stride=2)
    assert count_parameters(shortcut) == 0
    x = torch.randn(2, 3, 7, 7)
    padded = shortcut(x)
    assert padded.shape == (2, 5, 4, 4)
    torch.testing.assert_close(padded[:, :3], x[:, :, ::2, ::2], rtol=0, atol=0)
    assert torch.count_nonzero(padded[:, 3:]) == 0


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_block_with_shortcut_a_equals_the_padded_sum(memory_format):
    config = tiny_config(layer_type="basic", embedding_size=4, hidden_sizes=[4, 8], depths=[1, 1], shortcut_type="A")
    model = NotesResNetModel(config).eval().to(memory_format=memory_format)
    randomise_batch_norms(model)
    block = model.encoder.stages[1].layers[0]
    assert isinstance(block.shortcut, NotesResNetZeroPadShortCut)
    x = torch.randn(2, 4, 9, 9).contiguous(memory_format=memory_format)
    with torch.no_grad():
        expected = torch.relu(block.layer(x) + nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 0, 4)))
        torch.testing.assert_close(block(x), expected)


def test_shortcut_a_gradients_reach_the_input():
    config = tiny_config(layer_type="basic", embedding_size=4, hidden_sizes=[4, 8], depths=[1, 1], shortcut_type="A")
    block = NotesResNetModel(config).encoder.stages[1].layers[0]
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    x_reference = x.detach().clone().requires_grad_(True)
    block(x).sum().backward()
    expected = torch.relu(block.layer(x_reference) + nn.functional.pad(x_reference[:, :, ::2, ::2], (0, 0, 0, 0, 0, 4)))
    expected.sum().backward()
    torch.testing.assert_close(x.grad, x_reference.grad)


def test_stride_in_bottleneck_1x1_or_3x3():
    for in_bottleneck, strides in ((False, [(1, 1), (2, 2), (1, 1)]), (True, [(2, 2), (1, 1), (1, 1)])):
        model = NotesResNetModel(tiny_config(downsample_in_bottleneck=in_bottleneck))
        block = model.encoder.stages[1].layers[0]
        assert [layer.convolution.stride for layer in block.layer] == strides
        assert block.shortcut.convolution.stride == (2, 2)


def test_squeeze_excitation_equals_manual_computation():
    se = SqueezeExcitation(channels=8, reduction=4)
    x = torch.randn(3, 8, 5, 6)
    squeezed = x.mean(dim=(2, 3))  # [3, 8]
    hidden = torch.relu(squeezed @ se.fc1.weight.view(2, 8).T + se.fc1.bias)
    weights = torch.sigmoid(hidden @ se.fc2.weight.view(8, 2).T + se.fc2.bias)
    torch.testing.assert_close(se(x), x * weights[:, :, None, None])


def test_se_block_rescales_the_residual_branch_before_the_sum():
    model = NotesResNetModel(tiny_config(use_squeeze_excitation=True, se_reduction=4)).eval()
    randomise_batch_norms(model)
    block = model.encoder.stages[1].layers[1]
    assert block.se.fc1.out_channels == 32 // 4
    x = torch.randn(2, 32, 4, 4)
    with torch.no_grad():
        branch = block.layer(x)
        excitation = torch.sigmoid(block.se.fc2(torch.relu(block.se.fc1(branch.mean((2, 3), keepdim=True)))))
        torch.testing.assert_close(block(x), torch.relu(branch * excitation + x))


def test_excitation_weights_are_kept_only_on_request():
    model = NotesResNetForImageClassification(tiny_config(use_squeeze_excitation=True)).eval()
    layers = model.squeeze_excitation_layers()
    assert list(layers) == ["stage1.block0", "stage2.block0", "stage2.block1"]
    model(torch.randn(2, 3, 32, 32))
    assert all(layer.last_excitation is None for layer in layers.values())
    for layer in layers.values():
        layer.keep_excitation = True
    model(torch.randn(2, 3, 32, 32))
    assert layers["stage2.block1"].last_excitation.shape == (2, 32)
    assert ((layers["stage1.block0"].last_excitation > 0) & (layers["stage1.block0"].last_excitation < 1)).all()


def test_zero_init_last_batch_norm_makes_blocks_start_as_identity():
    model = NotesResNetModel(tiny_config(zero_init_last_batch_norm=True, hidden_sizes=[8, 16], embedding_size=8))
    for stage in model.encoder.stages:
        for block in stage.layers:
            assert torch.count_nonzero(block.layer[-1].normalization.weight) == 0
            assert torch.all(block.layer[0].normalization.weight == 1)
    identity_block = model.encoder.stages[1].layers[1]
    x = torch.randn(2, 16, 4, 4)
    torch.testing.assert_close(identity_block(x), torch.relu(x))
    default = NotesResNetModel(tiny_config())
    assert torch.all(default.encoder.stages[0].layers[0].layer[-1].normalization.weight == 1)


@pytest.mark.parametrize("use_se", [False, True])
def test_channels_last_training_and_inference_match_nchw(use_se):
    config = tiny_config(use_squeeze_excitation=use_se, shortcut_type="A", layer_type="basic",
                         hidden_sizes=[8, 16], embedding_size=8)
    reference = NotesResNetForImageClassification(config.__class__(**{**config.to_dict(), "use_channels_last": False}))
    channels_last = NotesResNetForImageClassification(config).to(memory_format=torch.channels_last)
    channels_last.load_state_dict(reference.state_dict())
    x = torch.randn(4, 3, 40, 40)
    labels = torch.tensor([0, 1, 2, 1])
    out_reference = reference(x, labels=labels, output_hidden_states=True)
    out_last = channels_last(x.contiguous(memory_format=torch.channels_last), labels=labels, output_hidden_states=True)
    assert out_last.hidden_states[-1].is_contiguous(memory_format=torch.channels_last)
    assert out_reference.hidden_states[-1].is_contiguous()
    torch.testing.assert_close(out_last.logits, out_reference.logits, rtol=1e-4, atol=1e-5)
    out_reference.loss.backward()
    out_last.loss.backward()
    for (name, p_reference), p_last in zip(reference.named_parameters(), channels_last.parameters()):
        torch.testing.assert_close(p_last.grad, p_reference.grad, rtol=1e-3, atol=1e-5, msg=name)
    reference.eval(), channels_last.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            channels_last(x.contiguous(memory_format=torch.channels_last)).logits, reference(x).logits,
            rtol=1e-4, atol=1e-5,
        )


def test_nchw_input_runs_in_channels_last_by_default():
    x = torch.randn(2, 3, 32, 32)
    default = NotesResNetModel(tiny_config()).eval()
    assert default(x, output_hidden_states=True).hidden_states[0].is_contiguous(memory_format=torch.channels_last)
    plain = NotesResNetModel(tiny_config(use_channels_last=False)).eval()
    plain.load_state_dict(default.state_dict())
    plain_out = plain(x, output_hidden_states=True)
    assert all(h.is_contiguous() for h in plain_out.hidden_states)
    torch.testing.assert_close(default(x).pooler_output, plain_out.pooler_output, rtol=1e-4, atol=1e-5)


def test_inference_folds_batch_norm_with_the_same_values_and_gradients():
    config = tiny_config(use_channels_last=False)
    model = NotesResNetModel(config).eval()
    randomise_batch_norms(model)
    layer = model.encoder.stages[1].layers[0].layer[1]  # a 3x3, stride 2, with ReLU
    x = torch.randn(2, 8, 19, 19)
    assert layer._fold_batch_norm(x)  # 2·9·9 output positions > 8·3·3 weights per output channel
    assert not layer._fold_batch_norm(x[:1, :, :7, :7])  # too small to be worth folding: plain BN
    small = x[:1, :, :7, :7]
    torch.testing.assert_close(layer(small), torch.relu(layer.normalization(layer.convolution(small))))
    folded = layer(x)
    unfolded = layer.activation(layer.normalization(layer.convolution(x)).clone())
    torch.testing.assert_close(folded, unfolded, rtol=1e-5, atol=1e-5)
    # frozen-BN fine-tuning: gradients reach the convolution and the BN affine parameters alike
    parameters = [layer.convolution.weight, layer.normalization.weight]
    grads_folded = torch.autograd.grad(folded.square().sum(), parameters)
    grads_unfolded = torch.autograd.grad(unfolded.square().sum(), parameters)
    for folded_grad, unfolded_grad in zip(grads_folded, grads_unfolded):
        torch.testing.assert_close(folded_grad, unfolded_grad, rtol=1e-4, atol=1e-5)
    # training mode uses batch statistics, as BatchNorm does
    model.train()
    torch.testing.assert_close(layer(x), torch.relu(layer.normalization(layer.convolution(x))))


def test_outputs_hidden_states_and_pooling():
    config = tiny_config(stem_type="imagenet")
    model = NotesResNetModel(config).eval()
    out = model(torch.randn(2, 3, 64, 64), output_hidden_states=True)
    assert [tuple(h.shape) for h in out.hidden_states] == [(2, 8, 16, 16), (2, 16, 16, 16), (2, 32, 8, 8)]
    assert out.last_hidden_state.shape == (2, 32, 8, 8)
    torch.testing.assert_close(out.pooler_output, out.last_hidden_state.mean((2, 3), keepdim=True))
    assert model(torch.randn(1, 3, 64, 64)).hidden_states is None
    last_hidden_state, pooled = model(torch.randn(1, 3, 64, 64), return_dict=False)[:2]
    assert pooled.shape == (1, 32, 1, 1)


def test_cifar_stem_keeps_the_resolution():
    model = NotesResNetModel(load_preset("resnet-20")).eval()
    out = model(torch.randn(1, 3, 32, 32), output_hidden_states=True)
    assert [h.shape[-1] for h in out.hidden_states] == [32, 32, 16, 8]


def test_single_and_multi_label_losses():
    model = NotesResNetForImageClassification(tiny_config())
    x = torch.randn(3, 3, 32, 32)
    single = model(x, labels=torch.tensor([0, 2, 1]))
    torch.testing.assert_close(single.loss, nn.functional.cross_entropy(single.logits, torch.tensor([0, 2, 1])))
    multi_model = NotesResNetForImageClassification(tiny_config(problem_type="multi_label_classification"))
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    multi = multi_model(x, labels=targets)
    torch.testing.assert_close(multi.loss, nn.functional.binary_cross_entropy_with_logits(multi.logits, targets))
    with pytest.raises(ValueError, match="labels contains id 7"):
        model(x, labels=torch.tensor([0, 7, 1]))


def test_backbone_through_auto_backbone():
    config = tiny_config(out_features=["stem", "stage2"])
    backbone = AutoBackbone.from_config(config)
    assert isinstance(backbone, NotesResNetBackbone)
    assert backbone.channels == [8, 32]
    out = backbone(torch.randn(2, 3, 64, 64))
    assert [tuple(f.shape) for f in out.feature_maps] == [(2, 8, 16, 16), (2, 32, 8, 8)]
    assert out.hidden_states is None


def test_save_and_auto_loading(tmp_path):
    config = tiny_config(use_squeeze_excitation=True, shortcut_type="C", id2label={0: "a", 1: "b", 2: "c"})
    model = NotesResNetForImageClassification(config).eval()
    randomise_batch_norms(model)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded_config = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded_config, NotesResNetConfig)
    assert (loaded_config.shortcut_type, loaded_config.use_squeeze_excitation) == ("C", True)
    reloaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    assert isinstance(reloaded, NotesResNetForImageClassification)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(reloaded(x).logits, model(x).logits, rtol=0, atol=0)
        bare = AutoModel.from_pretrained(tmp_path).eval()
        assert isinstance(bare, NotesResNetModel)
        torch.testing.assert_close(bare(x).pooler_output, model.resnet(x).pooler_output, rtol=0, atol=0)
    assert reloaded.config.id2label[1] == "b"
    # the NHWC weights of use_channels_last survive loading (loading replaces the tensors built by __init__)
    for loaded in (model, reloaded, bare):
        weights = [p for name, p in loaded.named_parameters() if name.endswith("embedder.embedder.convolution.weight")]
        assert weights[0].is_contiguous(memory_format=torch.channels_last)


def test_gradient_checkpointing_gives_the_same_gradients():
    config = tiny_config()
    model = NotesResNetForImageClassification(config)
    checkpointed = NotesResNetForImageClassification(config)
    checkpointed.load_state_dict(model.state_dict())
    checkpointed.activation_checkpointing_enable()
    x, labels = torch.randn(2, 3, 32, 32), torch.tensor([0, 1])
    model(x, labels=labels).loss.backward()
    checkpointed(x, labels=labels).loss.backward()
    for p, q in zip(model.parameters(), checkpointed.parameters()):
        torch.testing.assert_close(q.grad, p.grad)


# ---------------------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "pixel_values,message",
    [
        (torch.randn(2, 1, 32, 32), "1 channels but the model was configured with num_channels=3"),
        (torch.randn(3, 32, 32), "pixel_values must have 4 dimensions"),
        (torch.randn(1, 2, 3, 32, 32), "pixel_values must have 4 dimensions"),
        (torch.randn(1, 3, 16, 64), "smaller than the network's total stride 32"),
        (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), "floating point"),
    ],
)
def test_bad_pixel_values(pixel_values, message):
    model = NotesResNetForImageClassification(tiny_config(hidden_sizes=[16, 32, 64, 64], depths=[1, 1, 1, 1]))
    with pytest.raises(ValueError, match=message):
        model(pixel_values)


def test_missing_pixel_values():
    with pytest.raises(ValueError, match="pixel_values is required"):
        NotesResNetModel(tiny_config())()


@pytest.mark.parametrize(
    "overrides,message",
    [
        (dict(shortcut_type="A", embedding_size=64, hidden_sizes=[32, 64], layer_type="basic"), "cannot shrink"),
        (dict(shortcut_type="A", hidden_sizes=[64, 32], layer_type="basic"), "stage2 goes from 64 to 32"),
        (dict(hidden_sizes=[16, 0]), "hidden_sizes must be a non-empty list of positive integers"),
        (dict(hidden_sizes=[16, -8]), "hidden_sizes"),
        (dict(depths=[1, 0]), "depths must be"),
        (dict(depths=3), "depths must be"),
        (dict(embedding_size=0), "embedding_size must be a positive integer"),
        (dict(layer_type="bottle"), "layer_type must be one of"),
        (dict(shortcut_type="D"), "shortcut_type must be one of"),
        (dict(stem_type="tiny"), "stem_type must be one of"),
        (dict(depths=[1, 1, 1]), "one entry per stage"),
        (dict(hidden_sizes=[18, 32]), "not divisible by bottleneck_reduction"),
        (dict(se_reduction=0), "se_reduction must be a positive integer"),
        (dict(hidden_act="nope"), "hidden_act"),
        (dict(use_squeeze_excitation="yes"), "use_squeeze_excitation must be True or False"),
        (dict(batch_norm_eps=0.0), "batch_norm_eps must be a positive number"),
    ],
)
def test_invalid_configs(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


def test_presets_are_listed_under_the_model_type():
    names = set(hf_nlpnotes.list_presets("notes_resnet"))
    assert names == set(IMAGENET_COUNTS) | set(CIFAR_COUNTS) | {f"se-resnet-{d}" for d in (50, 101, 152)}


def test_saved_folder_loads_without_the_package(tmp_path):
    """save_pretrained copies the code: a process that cannot import hf_nlpnotes loads model, backbone and processor
    with trust_remote_code and gets the same logits."""
    import os
    import subprocess
    import sys
    import textwrap

    from hf_nlpnotes import NotesResNetImageProcessor

    config = tiny_config(use_squeeze_excitation=True, shortcut_type="A", layer_type="basic", hidden_sizes=[8, 16],
                         embedding_size=8)
    model = NotesResNetForImageClassification(config).eval()
    model.save_pretrained(tmp_path / "saved")
    NotesResNetImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        tmp_path / "saved"
    )
    pixel_values = torch.randn(2, 3, 32, 32)
    torch.save(pixel_values, tmp_path / "pixel_values.pt")
    with torch.no_grad():
        torch.save(model(pixel_values).logits, tmp_path / "expected.pt")
    code = BLOCK_PACKAGE + textwrap.dedent(
        f"""
        import sys, torch
        from transformers import AutoBackbone, AutoConfig, AutoImageProcessor, AutoModelForImageClassification
        import numpy as np
        folder = r"{tmp_path / 'saved'}"
        model = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True).eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        # (AutoBackbone.from_pretrained treats every local folder as a Hub repo id in transformers 5.23: from_config)
        config = AutoConfig.from_pretrained(folder, trust_remote_code=True, out_features=["stage1", "stage2"])
        backbone = AutoBackbone.from_config(config, trust_remote_code=True)
        assert backbone.channels == [8, 16], backbone.channels
        processor = AutoImageProcessor.from_pretrained(folder, trust_remote_code=True)
        assert processor(np.zeros((20, 20), dtype=np.uint8), return_tensors="pt").pixel_values.shape == (1, 3, 32, 32)
        with torch.no_grad():
            logits = model(torch.load(r"{tmp_path / 'pixel_values.pt'}")).logits
        torch.testing.assert_close(logits, torch.load(r"{tmp_path / 'expected.pt'}"), rtol=0, atol=1e-6)
        print("ok")
        """
    )
    environment = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                            cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
