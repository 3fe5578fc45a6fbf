"""End-to-end ``predict`` with the dual-path ``lite`` network on 2 CPU threads, registration
included, on a 30-slice 5 mm phantom, against the asymmetry method's ``predict`` of the same
scan in the same process (the yardstick; both register).

Target (issue 12): <= 15 s per case on 2 CPU cores. The shipped weights are used when
``model/weights/dualpath-lite/`` is complete; otherwise a randomly initialised ``lite`` network
in a temporary folder (same arithmetic, so the same time; its outputs mean nothing).

``python -m benchmarks.bench_model_predict --record FOLDER`` also writes the medians into
``FOLDER/timings.json`` under the device that ran (``cpu`` or ``cuda``), for the model card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import SimpleITK as sitk

from benchmarks.harness import compare

SLICES = 30
THREADS = 2
TARGET_S = 15.0
REPEATS = 3


def case_30_slices() -> sitk.Image:
    """Phantom 7 (36 slices of 5 mm) cut to its middle 30 slices."""
    from model.phantom import generate_phantom

    scan = generate_phantom(7).image
    first = (scan.GetSize()[2] - SLICES) // 2
    return scan[:, :, first : first + SLICES]


def pin_cores(n: int) -> None:
    """Run this process (torch, SimpleITK) on ``n`` cores, as on the 2-core build machine."""
    import torch

    if hasattr(os, "sched_setaffinity"):
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, available[:n])
    torch.set_num_threads(n)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(n)


def random_lite_folder(folder: Path) -> Path:
    """A weights folder holding a randomly initialised ``lite`` network (timing only)."""
    import torch

    from analysis.units import UNITS
    from model.network import NetworkConfig, build_network
    from model.overlap_scoring import THRESHOLDS_FILE, UnitThresholds
    from model.preprocess import PreprocessConfig
    from model.train import CARD_FILE, SCHEMA, WEIGHTS_FILE

    torch.manual_seed(0)
    network = NetworkConfig.preset("lite")
    torch.save(build_network(network).state_dict(), folder / WEIGHTS_FILE)
    card = {
        "schema": SCHEMA,
        "network": network.to_dict(),
        "preprocess": PreprocessConfig().to_dict(),
        "sha256": hashlib.sha256((folder / WEIGHTS_FILE).read_bytes()).hexdigest(),
        "note": "random initialisation, for timing only",
    }
    (folder / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    UnitThresholds(dict.fromkeys(UNITS, 0.5)).save(folder / THRESHOLDS_FILE)
    return folder


def measure(device: str = "cpu", weights: Path | None = None) -> dict:
    """Median seconds (total and per stage) of dual-path predict, beside asymmetry predict."""
    import torch

    from model.dualpath import WEIGHTS_DIR, weights_complete
    from model.infer import clear_method_cache, get_method, predict

    pin_cores(THREADS)
    scan = case_30_slices()
    with tempfile.TemporaryDirectory() as temporary:
        if weights is None:
            shipped = weights_complete()
            weights = WEIGHTS_DIR if shipped else random_lite_folder(Path(temporary))
        else:
            shipped = Path(weights).resolve() == WEIGHTS_DIR.resolve()
        clear_method_cache()
        get_method("dualpath", device=device, weights=weights)  # loads the network once
        runs: list[dict] = []
        cpu_seconds: list[float] = []

        def dualpath() -> None:
            started = time.process_time()
            runs.append(predict(scan, "dualpath", device=device, weights=weights).timings)
            cpu_seconds.append(time.process_time() - started)

        result = compare(
            f"model_predict_dualpath_lite_{device}_vs_asymmetry",
            dualpath,
            lambda: predict(scan, method="asymmetry"),
            repeats=REPEATS,
        )
    stages = {
        stage: statistics.median(run[stage] for run in runs[1:])
        for stage in ("registration", "preprocess", "mirror", "network", "scoring", "total")
    }
    return {
        "total_s": result.candidate_s,
        "asymmetry_s": result.baseline_s,
        "ratio_to_asymmetry": result.ratio,
        "cpu_time_s": statistics.median(cpu_seconds[1:]),
        "load_average_1min": os.getloadavg()[0],
        "stages_s": stages,
        "threads": THREADS if device == "cpu" else None,
        "slices": SLICES,
        "slice_mm": scan.GetSpacing()[2],
        "repeats": REPEATS,
        "weights": "shipped" if shipped else "random initialisation",
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
        "command": f"python -m benchmarks.bench_model_predict --device {device}",
    }


def run(device: str = "cpu", record: Path | None = None) -> dict:
    figures = measure(device)
    verdict = "met" if figures["total_s"] <= TARGET_S else "MISSED"
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in figures["stages_s"].items())
    print(
        f"dualpath lite predict on {device} ({figures['weights']}): {figures['total_s']:.2f} s "
        f"per {SLICES}-slice 5 mm case incl. registration ({stages}); "
        f"target <= {TARGET_S} s on {THREADS} cores: {verdict}",
        flush=True,
    )
    print(
        f"  process CPU time {figures['cpu_time_s']:.2f} s over {THREADS} threads (the wall "
        f"time of an otherwise idle machine is at least {figures['cpu_time_s'] / THREADS:.2f} s); "
        f"1-minute load average {figures['load_average_1min']:.1f}",
        flush=True,
    )
    if record is not None:
        path = Path(record) / "timings.json"
        timings = json.loads(path.read_text()) if path.is_file() else {}
        timings["cuda" if device.startswith("cuda") else "cpu"] = figures
        path.write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
        print(f"recorded in {path}")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_model_predict")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--record", type=Path, help="weights folder whose timings.json to update")
    args = parser.parse_args()
    run(args.device, args.record)
