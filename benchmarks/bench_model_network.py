"""The dual-path network on the CPU: FLOPs, achieved FLOP/s against a matmul, memory format.

- **GFLOPs per slice** of ``full`` (512 x 512) and ``lite`` (128 x 128), counted analytically
  on the convolutions and linear layers (:func:`model.network.network_flops`, meta device).
- **Achieved FLOP/s as a fraction of a plain torch matmul** of about the same FLOPs, timed in
  the same run (interleaved): ``(network FLOPs / network s) / (2 n^3 / matmul s)``, on all
  cores in inference mode, fp32, channels_last (what :func:`model.train.segment_volume` does
  on a CPU). Target >= 0.3.
- **channels_last versus NCHW** for both configs (``full`` at 256 x 256 to keep the run
  short; it is fully convolutional, so the ratio carries over): the ratio picks the CPU
  memory format in :func:`model.train.memory_format`.
- **lite forward time per slice** (batch 8), the network's share of a ``predict``.
"""

from __future__ import annotations

import os

import torch

from benchmarks.harness import compare


def _forward(net, x):
    def forward() -> None:
        with torch.inference_mode():
            net(x)

    return forward


def _measure(label: str, config, batch: int, repeats: int) -> None:
    from model.network import build_network, network_flops

    torch.manual_seed(0)
    net = build_network(config).eval()
    shape = (batch, config.in_channels, config.input_size, config.input_size)
    flops = network_flops(config, batch)
    x = torch.rand(shape)
    nchw = _forward(net, x)
    net_cl = build_network(config).eval().to(memory_format=torch.channels_last)
    net_cl.load_state_dict(net.state_dict())
    channels_last = _forward(net_cl, x.contiguous(memory_format=torch.channels_last))
    fmt = compare(f"{label}_channels_last_vs_nchw", channels_last, nchw, repeats=repeats)
    n = round((flops / 2.0) ** (1.0 / 3.0))
    a, b = torch.rand(n, n), torch.rand(n, n)
    matmul = compare(
        f"{label}_forward_vs_matmul_{n}", channels_last, lambda: a @ b, repeats=repeats
    )
    fraction = (flops / matmul.candidate_s) / (2.0 * n**3 / matmul.baseline_s)
    verdict = "met" if fraction >= 0.3 else "MISSED"
    print(
        f"{label}: {flops / matmul.candidate_s / 1e9:.1f} GFLOP/s achieved, matmul "
        f"{2.0 * n**3 / matmul.baseline_s / 1e9:.1f} GFLOP/s: fraction {fraction:.2f}, "
        f"target >= 0.3: {verdict}; channels_last {1 / fmt.ratio:.2f}x the speed of NCHW; "
        f"{matmul.candidate_s / batch:.3f} s per slice (batch {batch})",
        flush=True,
    )


def run() -> None:
    from model.network import NetworkConfig, network_flops
    from model.train import cpu_threads

    load = os.getloadavg()
    print(f"load average (1, 5, 15 min) before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for name in ("full", "lite"):
        gflops = network_flops(name) / 1e9
        size = NetworkConfig.preset(name).input_size
        print(f"{name}: {gflops:.2f} GFLOPs per {size} x {size} slice (conv + linear, analytic)")
    # All cores is what inference uses; one thread measures a core's efficiency, which a
    # loaded machine (oversubscribed threads wait on each other) does not distort as much.
    for threads in sorted({1, cpu_threads()}):
        torch.set_num_threads(threads)
        print(f"-- {threads} thread(s)")
        _measure(f"network_lite_{threads}t", NetworkConfig.preset("lite"), 8, 5)
        full = NetworkConfig.preset("full", input_size=256)
        _measure(f"network_full_at_256_{threads}t", full, 1, 2)
    torch.set_num_threads(cpu_threads())
    load = os.getloadavg()
    print(f"load average (1, 5, 15 min) after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
