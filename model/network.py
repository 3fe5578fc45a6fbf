"""The seed paper's dual-path segmentation network, in plain torch (no torchvision).

Chen et al. (2022) segment early ischaemic change with two pathways whose outputs are resized
to the input size by bilinear interpolation and added:

- **Global Path**: a ResNeXt-50 (32x4d) encoder (Xie et al. 2017: bottleneck blocks with
  grouped 3x3 convolutions, stages of 3, 4, 6 and 3 blocks) with a feature pyramid (Lin et al.
  2017: 1x1 laterals, nearest-neighbour top-down pathway, 3x3 smoothing); its P3 level
  (stride 8) gives a coarse segmentation through a small head, for localisation.
- **Local Path**: a Dense-UNet at full resolution (Li et al. 2018): a U-Net whose encoder
  levels are densely connected blocks (Huang et al. 2017; pre-activated BN-ReLU-conv 3x3 layers
  whose outputs are concatenated), halved by average pooling after a 1x1 compression, and
  whose decoder levels mirror them (bilinear upsampling, skip concatenation, a 1x1
  compression, a dense block), for boundary detail.

The input is ``(batch, 3, H, W)``: the preprocessed slice, its mirror and their difference
(:mod:`model.mirror`); the output is ``(batch, num_classes, H, W)`` logits (background,
lesion). :class:`NetworkConfig` holds every hyperparameter, validated; ``full`` is the paper's
scale (512 x 512 input, ResNeXt-50 32x4d widths), ``lite`` the same topology, narrower, on a
128 x 128 input (about 2 mm pixels over a head's 250 mm field of view), for CPUs and the
shipped weights: 0.46 GFLOPs per slice against the full one's 111. The module is pure:
no I/O, no device or training logic (:mod:`model.train` does those).

References
----------
Xie S, Girshick R, Dollar P, Tu Z, He K (2017). Aggregated residual transformations for deep
neural networks. CVPR.
Lin TY, Dollar P, Girshick R, He K, Hariharan B, Belongie S (2017). Feature pyramid networks
for object detection. CVPR.
Huang G, Liu Z, van der Maaten L, Weinberger KQ (2017). Densely connected convolutional
networks. CVPR.
Li X, Chen H, Qi X, Dou Q, Fu CW, Heng PA (2018). H-DenseUNet: hybrid densely connected UNet
for liver and tumor segmentation from CT volumes. IEEE TMI 37:2663.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

RESNEXT_STRIDE = 32
"""The encoder's total downsampling: input sides must be multiples of it."""


def positive_int(name: str, value: object, minimum: int = 1) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is an int >= ``minimum`` (no bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class NetworkConfig:
    """Hyperparameters of :class:`DualPathNet`; construction raises ``ValueError`` naming the
    bad field. :meth:`preset` gives ``lite`` and ``full``."""

    name: str
    input_size: int
    """Side of the square input (pixels); slices are resized to it."""
    in_channels: int = 3
    num_classes: int = 2
    # Global Path: ResNeXt encoder and FPN.
    stem_channels: int = 64
    stage_blocks: tuple[int, int, int, int] = (3, 4, 6, 3)
    stage_planes: tuple[int, int, int, int] = (64, 128, 256, 512)
    """Bottleneck planes per stage; a block's output has 4 times as many channels."""
    cardinality: int = 32
    base_width: int = 4
    """Channels per group at 64 planes: grouped width = planes * base_width / 64 * cardinality."""
    fpn_channels: int = 256
    head_channels: int = 128
    # Local Path: Dense-UNet.
    dense_stem: int = 32
    dense_growth: int = 16
    dense_layers: int = 4
    """Layers per dense block."""
    dense_levels: int = 4
    """Resolution levels (the coarsest is 2^(levels - 1) times smaller than the input)."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        positive_int("input_size", self.input_size, 64)
        positive_int("in_channels", self.in_channels)
        positive_int("num_classes", self.num_classes, 2)
        for name in ("stem_channels", "cardinality", "base_width", "fpn_channels"):
            positive_int(name, getattr(self, name))
        for name in ("head_channels", "dense_stem", "dense_growth", "dense_layers"):
            positive_int(name, getattr(self, name))
        positive_int("dense_levels", self.dense_levels, 2)
        if self.dense_levels > 6:
            raise ValueError(f"dense_levels must be at most 6, got {self.dense_levels}")
        multiple = max(RESNEXT_STRIDE, 2 ** (self.dense_levels - 1))
        if self.input_size % multiple:
            raise ValueError(
                f"input_size must be a multiple of {multiple} (the encoders' downsampling), "
                f"got {self.input_size}"
            )
        for name in ("stage_blocks", "stage_planes"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or len(value) != 4:
                raise ValueError(
                    f"{name} must be a tuple of 4 ints (ResNeXt stages), got {value!r}"
                )
            for i, item in enumerate(value):
                positive_int(f"{name}[{i}]", item)
        for planes in self.stage_planes:
            if (planes * self.base_width) % 64:
                raise ValueError(
                    f"stage_planes * base_width must be a multiple of 64 (whole channels per "
                    f"group), got {planes} * {self.base_width}"
                )

    def group_width(self, stage: int) -> int:
        """Channels of the grouped 3x3 convolution in ``stage`` (0-3)."""
        return self.stage_planes[stage] * self.base_width // 64 * self.cardinality

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON values (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkConfig:
        """The config :meth:`to_dict` wrote; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown network keys {unknown}; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> NetworkConfig:
        """``full`` (the paper's scale) or ``lite`` (narrower, for CPUs), with overrides."""
        if name not in PRESETS:
            raise ValueError(f"unknown network config {name!r}; available: {', '.join(PRESETS)}")
        return replace(PRESETS[name], **overrides)


PRESETS: dict[str, NetworkConfig] = {
    "full": NetworkConfig(name="full", input_size=512),
    "lite": NetworkConfig(
        name="lite",
        input_size=128,
        stem_channels=16,
        stage_planes=(16, 32, 64, 128),
        cardinality=8,
        base_width=8,
        fpn_channels=32,
        head_channels=32,
        dense_stem=16,
        dense_growth=8,
        dense_layers=2,
        dense_levels=4,
    ),
}
"""``full``: ResNeXt-50 (32x4d) widths, FPN 256, 512 x 512 input. ``lite``: stages of the same
depth at a quarter of the width (cardinality 8), FPN 32, a thin Dense-UNet, 128 x 128 input
(a 256 x 256 input costs four times as much: 2 s per training slice on the shared 2 cores)."""


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Bottleneck(nn.Module):
    """ResNeXt block: 1x1 reduce, grouped 3x3 (with the stride), 1x1 expand, residual add."""

    expansion = 4

    def __init__(self, cin: int, planes: int, width: int, groups: int, stride: int) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)
        y = F.relu(self.bn2(self.conv2(y)), inplace=True)
        return F.relu(self.bn3(self.conv3(y)) + self.shortcut(x), inplace=True)


class GlobalPath(nn.Module):
    """ResNeXt encoder (C2-C5) and FPN top-down to P3; a head gives stride-8 logits."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        c = config
        self.stem = nn.Sequential(
            _conv_bn_relu(c.in_channels, c.stem_channels, 7, 2),
            nn.MaxPool2d(3, 2, 1),
        )
        stages, cin, outs = [], c.stem_channels, []
        for i, (blocks, planes) in enumerate(zip(c.stage_blocks, c.stage_planes, strict=True)):
            layer = []
            for b in range(blocks):
                stride = 2 if i > 0 and b == 0 else 1
                layer.append(Bottleneck(cin, planes, c.group_width(i), c.cardinality, stride))
                cin = planes * Bottleneck.expansion
            stages.append(nn.Sequential(*layer))
            outs.append(cin)
        self.stages = nn.ModuleList(stages)
        # FPN from C5 down to C3 (P2 is not used: the paper's coarse output is P3).
        self.lateral = nn.ModuleList(nn.Conv2d(n, c.fpn_channels, 1) for n in outs[1:])
        self.smooth = nn.Conv2d(c.fpn_channels, c.fpn_channels, 3, 1, 1)
        self.head = nn.Sequential(
            _conv_bn_relu(c.fpn_channels, c.head_channels, 3),
            nn.Conv2d(c.head_channels, c.num_classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        y = self.stem(x)
        for stage in self.stages:
            y = stage(y)
            features.append(y)
        c3, c4, c5 = features[1:]
        p = self.lateral[2](c5)
        p = self.lateral[1](c4) + F.interpolate(p, size=c4.shape[-2:], mode="nearest")
        p = self.lateral[0](c3) + F.interpolate(p, size=c3.shape[-2:], mode="nearest")
        out: torch.Tensor = self.head(self.smooth(p))
        return out


class DenseBlock(nn.Module):
    """``layers`` pre-activated BN-ReLU-conv 3x3 layers, each fed all earlier outputs."""

    def __init__(self, cin: int, growth: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(
                nn.BatchNorm2d(cin + i * growth),
                nn.ReLU(inplace=True),
                nn.Conv2d(cin + i * growth, growth, 3, 1, 1, bias=False),
            )
            for i in range(layers)
        )
        self.out_channels = cin + layers * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class LocalPath(nn.Module):
    """Dense-UNet at full resolution: dense encoder levels, mirrored dense decoder levels
    (bilinear upsampling, skip concatenation, 1x1 compression, dense block), 1x1 classifier."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        c = config
        self.stem = _conv_bn_relu(c.in_channels, c.dense_stem, 3)
        self.encoders, self.transitions = nn.ModuleList(), nn.ModuleList()
        inputs, skips, cin = [], [], c.dense_stem
        for level in range(c.dense_levels):
            block = DenseBlock(cin, c.dense_growth, c.dense_layers)
            self.encoders.append(block)
            inputs.append(cin)
            skips.append(block.out_channels)
            if level < c.dense_levels - 1:
                cin = block.out_channels // 2  # DenseNet-BC compression 0.5
                self.transitions.append(
                    nn.Sequential(
                        nn.BatchNorm2d(block.out_channels),
                        nn.ReLU(inplace=True),
                        nn.Conv2d(block.out_channels, cin, 1, bias=False),
                        nn.AvgPool2d(2),
                    )
                )
        self.decoders = nn.ModuleList()
        below = skips[-1]
        for level in reversed(range(c.dense_levels - 1)):
            block = DenseBlock(inputs[level], c.dense_growth, c.dense_layers)
            self.decoders.append(
                nn.Sequential(_conv_bn_relu(below + skips[level], inputs[level], 1), block)
            )
            below = block.out_channels
        self.classifier = nn.Sequential(
            nn.BatchNorm2d(below), nn.ReLU(inplace=True), nn.Conv2d(below, c.num_classes, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, skips = self.stem(x), []
        for level, block in enumerate(self.encoders):
            y = block(y)
            if level < len(self.transitions):
                skips.append(y)
                y = self.transitions[level](y)
        for decoder, skip in zip(self.decoders, reversed(skips), strict=True):
            up = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = decoder(torch.cat([up, skip], dim=1))
        logits: torch.Tensor = self.classifier(y)
        return logits


class DualPathNet(nn.Module):
    """Global Path (ResNeXt + FPN, P3) plus Local Path (Dense-UNet), both bilinearly resized
    to the input size and added: ``(B, in_channels, S, S)`` -> ``(B, num_classes, S, S)``
    logits, ``S = config.input_size``."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        if not isinstance(config, NetworkConfig):
            raise TypeError(f"config must be a NetworkConfig, got {type(config).__name__}")
        self.config = config
        self.global_path = GlobalPath(config)
        self.local_path = LocalPath(config)
        self._initialise()

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        # Residual branches start as identities (Goyal et al. 2017): trains from scratch.
        for module in self.modules():
            if isinstance(module, Bottleneck):
                nn.init.zeros_(module.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValueError(f"input must be a floating-point tensor, got {type(x).__name__}")
        if x.dim() != 4 or tuple(x.shape[1:]) != (c.in_channels, c.input_size, c.input_size):
            raise ValueError(
                f"input must be (batch, {c.in_channels}, {c.input_size}, {c.input_size}) for "
                f"the {c.name!r} config, got {tuple(x.shape)}"
            )
        size = x.shape[-2:]
        coarse = F.interpolate(self.global_path(x), size=size, mode="bilinear", align_corners=False)
        fine = self.local_path(x)
        if fine.shape[-2:] != size:
            fine = F.interpolate(fine, size=size, mode="bilinear", align_corners=False)
        combined: torch.Tensor = coarse + fine
        return combined


def build_network(config: NetworkConfig | str) -> DualPathNet:
    """A freshly initialised :class:`DualPathNet` for ``config`` (or a preset name)."""
    return DualPathNet(NetworkConfig.preset(config) if isinstance(config, str) else config)


def count_flops(module: nn.Module, shape: tuple[int, ...]) -> int:
    """Floating-point operations of one forward pass on an input of ``shape``, counted
    analytically on the convolutions and linear layers (2 per multiply-add; normalisation,
    activations, pooling, resizing and additions are not counted).

    A module on the ``meta`` device costs nothing to count (:func:`network_flops`).
    """
    total = 0

    def conv(layer: nn.Conv2d, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        per_output = layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
        total += 2 * output.numel() * per_output

    def linear(layer: nn.Linear, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += 2 * output.numel() * layer.in_features

    hooks = []
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            hooks.append(layer.register_forward_hook(conv))
        elif isinstance(layer, nn.Linear):
            hooks.append(layer.register_forward_hook(linear))
    device = next(module.parameters()).device
    try:
        with torch.no_grad():
            module(torch.zeros(shape, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    return total


def network_flops(config: NetworkConfig | str, batch: int = 1) -> int:
    """Forward FLOPs of the network for ``batch`` inputs of its configured size (meta device:
    shapes only, no arithmetic)."""
    config = NetworkConfig.preset(config) if isinstance(config, str) else config
    with torch.device("meta"):
        net = DualPathNet(config).eval()
    return count_flops(net, (batch, config.in_channels, config.input_size, config.input_size))
