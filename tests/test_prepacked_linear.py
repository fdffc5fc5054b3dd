"""PrepackableLinear / prepacked_linears: the oneDNN-packed fp32 path must be the plain linear layer, only faster."""

import pytest
import torch
from torch import nn

from hf_nlpnotes.models.notes_layers import PrepackableLinear, onednn_packing_available, prepacked_linears

needs_onednn = pytest.mark.skipif(
    not onednn_packing_available(), reason="this torch build has no oneDNN linear prepacking (torch.ops.mkldnn)"
)


def layer_pair(in_features=24, out_features=40, bias=True, seed=0):
    torch.manual_seed(seed)
    packable = PrepackableLinear(in_features, out_features, bias=bias)
    plain = nn.Linear(in_features, out_features, bias=bias)
    plain.load_state_dict(packable.state_dict())
    return packable, plain


def test_same_parameters_and_state_dict_keys_as_nn_linear():
    packable, plain = layer_pair()
    assert isinstance(packable, nn.Linear)
    assert list(packable.state_dict()) == list(plain.state_dict()) == ["weight", "bias"]


@needs_onednn
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 24), (8, 24), (8, 1, 24), (3, 5, 24), (300, 24)])
def test_packed_output_equals_plain_linear_for_any_row_count(shape, bias):
    packable, plain = layer_pair(bias=bias)
    inputs = torch.randn(shape)
    with torch.no_grad(), prepacked_linears([packable], rows=8) as packed:
        assert packed == 1 and packable.packed_weight is not None
        out = packable(inputs)
        transposed = packable(inputs.transpose(0, -1).contiguous().transpose(0, -1))  # non-contiguous input
    assert packable.packed_weight is None  # dropped on exit
    expected = plain(inputs).detach()
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(transposed, expected, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_autograd_uses_the_plain_weights_inside_the_context():
    packable, plain = layer_pair()
    inputs = torch.randn(4, 24)
    with prepacked_linears([packable], rows=4):
        packable(inputs).square().sum().backward()
    plain(inputs).square().sum().backward()
    torch.testing.assert_close(packable.weight.grad, plain.weight.grad)
    torch.testing.assert_close(packable.bias.grad, plain.bias.grad)


@needs_onednn
def test_nested_contexts_leave_the_outer_packing_alone_and_errors_unpack():
    model = nn.Sequential(PrepackableLinear(8, 8), nn.ReLU(), PrepackableLinear(8, 8))
    with prepacked_linears([model], rows=2) as outer:
        assert outer == 2
        with prepacked_linears([model], rows=2) as inner:
            assert inner == 0
        assert all(layer.packed_weight is not None for layer in (model[0], model[2]))
    with pytest.raises(KeyError):
        with prepacked_linears([model], rows=2):
            raise KeyError("boom")
    assert model[0].packed_weight is None and model[2].packed_weight is None


def test_other_dtypes_are_not_packed_and_still_work():
    layer = PrepackableLinear(8, 8).double()
    inputs = torch.randn(2, 8, dtype=torch.float64)
    with torch.no_grad(), prepacked_linears([layer], rows=2) as packed:
        assert packed == 0
        out = layer(inputs)
    torch.testing.assert_close(out, nn.functional.linear(inputs, layer.weight, layer.bias))


@needs_onednn
def test_cpu_autocast_keeps_its_reduced_precision_product():
    packable, plain = layer_pair()
    inputs = torch.randn(4, 24)
    with torch.no_grad(), prepacked_linears([packable], rows=4), torch.autocast("cpu", dtype=torch.bfloat16):
        out = packable(inputs)
        expected = plain(inputs)
    assert out.dtype == expected.dtype == torch.bfloat16
    torch.testing.assert_close(out, expected)
