"""The dual-path network: shapes, validation, determinism, checkpoints, FLOP counting."""

from __future__ import annotations

import io
import json

import pytest
import torch
from torch import nn

from model.network import (
    DualPathNet,
    NetworkConfig,
    build_network,
    count_flops,
    network_flops,
)

RESNEXT50_32X4D_ENCODER_PARAMS = 22_979_904
"""torchvision's resnext50_32x4d has 25,028,904 parameters; without its 2048 x 1000 fc
layer (2,049,000) the stem and four stages hold this many."""


@pytest.fixture(scope="module")
def lite() -> DualPathNet:
    torch.manual_seed(0)
    return build_network("lite").eval()


@pytest.mark.parametrize(
    ("name", "overrides", "shape", "expected"),
    [
        ("lite", {}, (2, 3, 128, 128), (2, 2, 128, 128)),
        (
            "lite",
            {"input_size": 64, "in_channels": 1, "num_classes": 3},
            (1, 1, 64, 64),
            (1, 3, 64, 64),
        ),
        ("full", {"input_size": 64}, (1, 3, 64, 64), (1, 2, 64, 64)),
    ],
)
def test_output_shapes(name, overrides, shape, expected) -> None:
    torch.manual_seed(0)
    net = build_network(NetworkConfig.preset(name, **overrides)).eval()
    with torch.inference_mode():
        out = net(torch.randn(shape))
    assert tuple(out.shape) == expected
    assert torch.isfinite(out).all()


def test_full_is_the_papers_scale() -> None:
    full = NetworkConfig.preset("full")
    assert full.input_size == 512
    assert full.stage_blocks == (3, 4, 6, 3)
    assert (full.cardinality, full.group_width(0), full.group_width(3)) == (32, 128, 1024)
    with torch.device("meta"):
        net = DualPathNet(full)
        encoder = [net.global_path.stem, *net.global_path.stages]
        out = net(torch.empty(1, 3, 512, 512))
        p3 = net.global_path(torch.empty(1, 3, 512, 512))
    assert sum(p.numel() for m in encoder for p in m.parameters()) == RESNEXT50_32X4D_ENCODER_PARAMS
    assert tuple(out.shape) == (1, 2, 512, 512)
    assert tuple(p3.shape) == (1, 2, 64, 64)  # the coarse segmentation comes from P3 (stride 8)


def test_full_refuses_an_input_of_another_size() -> None:
    torch.manual_seed(0)
    net = build_network("full")
    with pytest.raises(ValueError, match=r"\(batch, 3, 512, 512\) for the 'full' config, got"):
        net(torch.zeros(1, 3, 256, 256))


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (torch.zeros(3, 128, 128), r"got \(3, 128, 128\)"),
        (torch.zeros(1, 1, 128, 128), r"got \(1, 1, 128, 128\)"),
        (torch.zeros(1, 3, 128, 96), r"got \(1, 3, 128, 96\)"),
        (torch.zeros(1, 3, 128, 128, dtype=torch.int64), "floating-point tensor"),
    ],
)
def test_bad_input_raises(lite, x, match) -> None:
    with pytest.raises(ValueError, match=match):
        lite(x)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"input_size": 100}, "input_size must be a multiple of 32"),
        ({"input_size": 32}, "input_size must be an int >= 64"),
        ({"stage_blocks": (3, 4, 6)}, "stage_blocks must be a tuple of 4 ints"),
        ({"stage_planes": (16, 32, 0, 128)}, r"stage_planes\[2\] must be an int >= 1"),
        ({"cardinality": 0}, "cardinality must be an int >= 1"),
        ({"base_width": 3}, "stage_planes \\* base_width must be a multiple of 64"),
        ({"num_classes": 1}, "num_classes must be an int >= 2"),
        ({"dense_levels": 7}, "dense_levels must be at most 6"),
        ({"dense_growth": 2.5}, "dense_growth must be an int"),
    ],
)
def test_bad_hyperparameters_raise(overrides, match) -> None:
    with pytest.raises(ValueError, match=match):
        NetworkConfig.preset("lite", **overrides)


def test_config_names_and_json_round_trip() -> None:
    with pytest.raises(ValueError, match="unknown network config 'huge'; available: full, lite"):
        NetworkConfig.preset("huge")
    lite = NetworkConfig.preset("lite")
    assert NetworkConfig.from_dict(json.loads(json.dumps(lite.to_dict()))) == lite
    with pytest.raises(ValueError, match=r"unknown network keys \['depth'\]"):
        NetworkConfig.from_dict({**lite.to_dict(), "depth": 3})
    with pytest.raises(TypeError, match="NetworkConfig"):
        DualPathNet({"name": "lite"})


def test_cpu_determinism() -> None:
    config = NetworkConfig.preset("lite", input_size=64)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    target = (x[:, 2] < 0).long()
    results = []
    for _ in range(2):
        torch.manual_seed(7)
        net = build_network(config)
        optimiser = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        optimiser.zero_grad()
        nn.functional.cross_entropy(net(x), target).backward()
        optimiser.step()
        net.eval()
        with torch.inference_mode():
            results.append((net(x), net(x), net.state_dict()))
    (a, a_again, state_a), (b, _, state_b) = results
    assert torch.equal(a, a_again)
    assert torch.equal(a, b)
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_checkpoint_round_trip(lite) -> None:
    buffer = io.BytesIO()
    torch.save({"config": lite.config.to_dict(), "state": lite.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    rebuilt = build_network(NetworkConfig.from_dict(saved["config"]))
    rebuilt.load_state_dict(saved["state"])
    rebuilt.eval()
    x = torch.randn(2, 3, 128, 128)
    with torch.inference_mode():
        assert torch.equal(rebuilt(x), lite(x))


def test_flops_are_counted_on_convolutions_and_linear_layers() -> None:
    net = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1, groups=2), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16, 5)
    )
    # conv: 2 * (8 x 4 x 4 outputs) * (4 / 2 x 3 x 3); linear: 2 * 5 * 128.
    assert count_flops(net, (1, 4, 4, 4)) == 2 * 128 * 18 + 2 * 5 * 128
    assert count_flops(net, (3, 4, 4, 4)) == 3 * (2 * 128 * 18 + 2 * 5 * 128)
    lite = NetworkConfig.preset("lite")
    assert network_flops(lite, batch=2) == 2 * network_flops(lite)
    # Four times the pixels, four times the work (both paths are fully convolutional).
    assert network_flops(NetworkConfig.preset("lite", input_size=256)) == 4 * network_flops(lite)
