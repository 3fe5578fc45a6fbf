"""The case loader against reading the same files into arrays, in the same process.

A 512 x 512 x 36 head CT stored right-to-left and posterior-to-anterior (so every axis but
the slices is flipped for display), with a float32 likelihood mask and a uint8 label map:

- ``unaided``: ``load_case`` (read, reorient, read-only array, slice positions) against
  ``load_volume`` + ``GetArrayFromImage`` of the scan; target ratio <= 1.3.
- ``aided``: the same with the mask and the label map (grid checks, reorientation) against
  reading the three files into arrays; target ratio <= 1.3.
- ``prefetched``: ``CaseLoader.volume`` of a case the background thread already loaded,
  against the cold ``load_case``: what opening the next case costs once prefetch is done.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from benchmarks.harness import compare
from readerstudy.imaging import load_volume
from readerstudy.study.caseloader import CaseFiles, CaseLoader, ViewerOptions, load_case
from readerstudy.study.definition import Viewer

SIZE = (512, 512, 36)


def _write(folder: Path) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(0)
    hu = rng.normal(30, 8, SIZE[::-1]).astype(np.int16)
    scan = sitk.GetImageFromArray(hu)
    scan.SetDirection((-1, 0, 0, 0, -1, 0, 0, 0, 1))
    scan.SetSpacing((0.45, 0.45, 5.0))
    paths = []
    for name, values in (
        ("scan", hu),
        ("mask", rng.random(SIZE[::-1], dtype=np.float32)),
        ("atlas", rng.integers(0, 21, SIZE[::-1], dtype=np.uint8)),
    ):
        image = sitk.GetImageFromArray(values)
        image.CopyInformation(scan)
        path = folder / f"{name}.nii"
        sitk.WriteImage(image, str(path))
        paths.append(path)
    return tuple(paths)


def run() -> None:
    options = ViewerOptions.from_definition(Viewer())
    with tempfile.TemporaryDirectory() as tmp:
        scan, mask, atlas = _write(Path(tmp))
        unaided = CaseFiles("S1-001", scan)
        aided = CaseFiles("S2-001", scan, ai_mask=mask, atlas=atlas)

        def read_arrays() -> list[np.ndarray]:
            arrays = [sitk.GetArrayFromImage(load_volume(scan).image)]
            return arrays + [sitk.GetArrayFromImage(sitk.ReadImage(str(p))) for p in (mask, atlas)]

        compare(
            "load_case_unaided_vs_read_into_array",
            lambda: load_case(unaided, options),
            lambda: sitk.GetArrayFromImage(load_volume(scan).image),
            repeats=7,
            target=1.3,
        )
        compare(
            "load_case_aided_vs_read_three_arrays",
            lambda: load_case(aided, options),
            read_arrays,
            repeats=5,
            target=1.3,
        )
        loader = CaseLoader(options)
        loader.opened(unaided, None)
        loader.volume(unaided, None)  # wait for the background load once
        result = compare(
            "prefetched_volume_vs_cold_load_case",
            lambda: loader.volume(unaided, None),
            lambda: load_case(unaided, options),
            repeats=7,
        )
        print(f"  opening a prefetched case: {result.candidate_s * 1e3:.3f} ms")
        loader.close()


if __name__ == "__main__":
    run()
