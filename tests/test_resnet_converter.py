"""convert_resnet: transformers' ResNet folders and torchvision-style state dicts give the same outputs (1e-5)."""

import os
import subprocess
import sys

import pytest
import torch
from torch import nn
from transformers import ResNetConfig, ResNetForImageClassification, ResNetModel

from hf_nlpnotes import NotesResNetForImageClassification, NotesResNetModel, convert_resnet
from hf_nlpnotes.converters.resnet import load_converted


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks run fastest on one thread, and a busy shared CI machine makes 2-thread regions wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def randomise_batch_norms(model: nn.Module):
    """Non-trivial BN statistics and affine parameters, so that eval-mode outputs test every tensor."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(module.num_features, generator=generator) * 0.1)


# ---------------------------------------------------------------------------------------------------------------
# a torchvision-layout ResNet written independently of hf_nlpnotes (torchvision itself is not installable here):
# the same attribute names as torchvision.models.resnet, so its state dict has torchvision's keys


class TorchvisionBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (self.downsample(x) if self.downsample is not None else x))


class TimmSqueezeExcite(nn.Module):
    """timm's SEModule as its SE-ResNets name it: se.fc1 / se.fc2 (1x1 convolutions with bias)."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


class TorchvisionBottleneck(nn.Module):
    expansion = 4
    use_se = False

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.se = TimmSqueezeExcite(planes * 4, reduction=8) if self.use_se else None
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)  # stride on the 3x3, as torchvision
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        return torch.relu(out + (self.downsample(x) if self.downsample is not None else x))


class TorchvisionResNet(nn.Module):
    def __init__(self, block, layers, num_classes=10, width=16):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def make_transformers_resnet(layer_type: str, head: bool = True):
    hidden_sizes = [32, 64, 128, 256] if layer_type == "bottleneck" else [16, 32, 64, 128]
    config = ResNetConfig(
        embedding_size=16, hidden_sizes=hidden_sizes, depths=[1, 2, 1, 1], layer_type=layer_type, num_labels=7
    )
    model = (ResNetForImageClassification if head else ResNetModel)(config).eval()
    randomise_batch_norms(model)
    return model


@pytest.mark.parametrize("layer_type", ["basic", "bottleneck"])
def test_transformers_image_classification_folder(tmp_path, layer_type):
    reference = make_transformers_resnet(layer_type)
    reference.save_pretrained(tmp_path / "source")
    depth = (2 if layer_type == "basic" else 3) * 5 + 2
    converted = convert_resnet(tmp_path / "source", tmp_path / "converted", depth=depth)
    assert isinstance(converted, NotesResNetForImageClassification)
    reloaded = NotesResNetForImageClassification.from_pretrained(tmp_path / "converted").eval()
    assert (tmp_path / "converted" / "preprocessor_config.json").is_file()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = reference(x, output_hidden_states=True)
        actual = reloaded(x, output_hidden_states=True)
    torch.testing.assert_close(actual.logits, expected.logits, rtol=0, atol=1e-5)
    for ours, theirs in zip(actual.hidden_states, expected.hidden_states, strict=True):
        # float32 rounding only: at inference BN is folded into the convolutions and NHWC sums in another order
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=5e-5)


def test_transformers_bare_model_folder(tmp_path):
    reference = make_transformers_resnet("bottleneck", head=False)
    reference.save_pretrained(tmp_path / "source")
    converted = load_converted(tmp_path / "source")
    assert isinstance(converted, NotesResNetModel)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(converted(x).pooler_output, reference(x).pooler_output, rtol=0, atol=1e-5)


@pytest.mark.parametrize("block,layers,suffix", [
    (TorchvisionBasicBlock, [2, 1, 1, 1], ".pth"),
    (TorchvisionBottleneck, [1, 2, 1, 1], ".safetensors"),
])
def test_torchvision_state_dict(tmp_path, block, layers, suffix):
    reference = TorchvisionResNet(block, layers).eval()
    randomise_batch_norms(reference)
    path = tmp_path / f"resnet{suffix}"
    if suffix == ".pth":
        torch.save(reference.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file(reference.state_dict(), str(path))
    converted = convert_resnet(path, tmp_path / "converted")
    config = converted.config
    expected_type = "basic" if block is TorchvisionBasicBlock else "bottleneck"
    inferred = (config.layer_type, config.depths, config.shortcut_type, config.num_labels)
    assert inferred == (expected_type, layers, "B", 10)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(converted(x).logits, reference(x), rtol=0, atol=1e-5)
        reloaded = NotesResNetForImageClassification.from_pretrained(tmp_path / "converted").eval()
        torch.testing.assert_close(reloaded(x).logits, reference(x), rtol=0, atol=1e-5)


class TimmSeBottleneck(TorchvisionBottleneck):
    use_se = True


def test_timm_style_se_resnet_state_dict(tmp_path):
    reference = TorchvisionResNet(TimmSeBottleneck, [1, 1, 2, 1]).eval()
    randomise_batch_norms(reference)
    torch.save(reference.state_dict(), tmp_path / "seresnet.pth")
    converted = load_converted(tmp_path / "seresnet.pth", depth=17)
    assert converted.config.use_squeeze_excitation and converted.config.se_reduction == 8
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(converted(x).logits, reference(x), rtol=0, atol=1e-5)


def test_wrapped_torchvision_checkpoint(tmp_path):
    reference = TorchvisionResNet(TorchvisionBasicBlock, [1, 1, 1, 1]).eval()
    wrapped = {"state_dict": {f"module.{key}": value for key, value in reference.state_dict().items()}}
    torch.save(wrapped, tmp_path / "checkpoint.pth")
    converted = load_converted(tmp_path / "checkpoint.pth")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(converted(x).logits, reference(x), rtol=0, atol=1e-5)


def test_checkpoint_of_another_depth_is_refused(tmp_path):
    reference = make_transformers_resnet("basic")  # depths [1, 2, 1, 1] of basic blocks: a "ResNet-12"
    reference.save_pretrained(tmp_path / "source")
    with pytest.raises(ValueError, match="holds a ResNet-12 .* not the ResNet-18"):
        convert_resnet(tmp_path / "source", tmp_path / "out", depth=18)
    torch.save(TorchvisionResNet(TorchvisionBottleneck, [1, 1, 1, 1]).state_dict(), tmp_path / "r14.pth")
    with pytest.raises(ValueError, match="holds a ResNet-14 .* not the ResNet-50"):
        convert_resnet(tmp_path / "r14.pth", tmp_path / "out", depth=50)
    assert not (tmp_path / "out").exists()


def test_not_a_resnet_checkpoint(tmp_path):
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a torchvision-style ResNet state dict"):
        convert_resnet(tmp_path / "other.pth", tmp_path / "out")
    with pytest.raises(FileNotFoundError):
        convert_resnet(tmp_path / "missing.pth", tmp_path / "out")


def test_refuses_to_overwrite_and_command_line(tmp_path):
    torch.save(TorchvisionResNet(TorchvisionBasicBlock, [1, 1, 1, 1]).state_dict(), tmp_path / "r10.pth")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="--overwrite"):
        convert_resnet(tmp_path / "r10.pth", tmp_path / "out")
    command = [sys.executable, "-m", "hf_nlpnotes.converters.resnet", str(tmp_path / "r10.pth"), str(tmp_path / "out")]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command + ["--overwrite", "--depth", "10"], capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr
    assert "ResNet-10" in done.stdout
    assert (tmp_path / "out" / "model.safetensors").is_file()
