"""The dual-path network's preprocessing: median filter, brain window, dark-image enhancement."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from model.preprocess import PreprocessConfig, brain_window, enhance_dark, preprocess_slices

PLAIN = PreprocessConfig(median_kernel=1, dehaze=False)


@pytest.fixture(scope="module")
def phantom_hu() -> tuple[np.ndarray, np.ndarray, int]:
    """(HU, true regions, ganglionic index) of one calibrated phantom."""
    from model.phantom import generate_phantom

    phantom = generate_phantom(3)
    return (
        sitk.GetArrayFromImage(phantom.image),
        sitk.GetArrayFromImage(phantom.regions),
        phantom.levels["ganglionic"],
    )


def test_brain_window_maps_the_window_to_unit_range() -> None:
    hu = np.array([[[-1000.0, 0.0, 20.0, 40.0, 80.0, 1500.0]]])
    out = preprocess_slices(hu, PLAIN)
    np.testing.assert_allclose(out[0, 0], [0.0, 0.0, 0.25, 0.5, 1.0, 1.0], atol=1e-6)
    assert out.dtype == np.float32
    narrow = brain_window(hu, PreprocessConfig(window_center=30.0, window_width=20.0))
    np.testing.assert_allclose(narrow[0, 0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])


def test_median_filter_removes_an_impulse_but_keeps_edges() -> None:
    hu = np.full((1, 15, 15), 30.0)
    hu[0, :, 8:] = 50.0  # an edge
    hu[0, 4, 3] = 1000.0  # a spike (bone-bright noise)
    out = preprocess_slices(hu, PreprocessConfig(median_kernel=3, dehaze=False))
    assert out[0, 4, 3] == pytest.approx(30.0 / 80.0)
    np.testing.assert_allclose(out[0, :, 7], 30.0 / 80.0)
    np.testing.assert_allclose(out[0, :, 8], 50.0 / 80.0)


def test_dehazing_matches_dong_by_hand() -> None:
    # A uniform "brain" (0.5 after the window) in air, with bone (1) on one side: inverted,
    # the air is the atmospheric light (A = 1). Inside the brain t = 1 - 0.8 * 0.5 = 0.6 and
    # J = (0.5 - 1) / 0.6 + 1; in the air t = 0.2 < 0.5 becomes 2 * 0.2^2, and J = A = 1.
    windowed = np.zeros((1, 41, 41), np.float32)
    windowed[0, 10:31, 10:31] = 0.5
    windowed[0, 10:31, 31:34] = 1.0
    out = enhance_dark(windowed, PreprocessConfig())
    enhanced = 1.0 - ((0.5 - 1.0) / 0.6 + 1.0)
    assert out[0, 20, 20] == pytest.approx(enhanced, abs=1e-6)
    assert out[0, 20, 11] == pytest.approx(enhanced, abs=1e-6)  # beside air: unchanged rule
    assert out[0, 2, 2] == pytest.approx(0.0, abs=1e-6)
    # Within half a patch of bone the dark channel is the inverted bone's 0: t = 1.
    assert out[0, 20, 29] == pytest.approx(0.5, abs=1e-6)
    assert out[0, 20, 27] == pytest.approx(enhanced, abs=1e-6)


def test_dehazing_brightens_and_sharpens_a_phantom(phantom_hu) -> None:
    from scipy import ndimage

    hu = phantom_hu[0]
    brain = (hu > 15.0) & (hu < 55.0)
    enhanced = preprocess_slices(hu)
    windowed = preprocess_slices(hu, PreprocessConfig(dehaze=False))
    # A low-light enhancement: out = in / t with t <= 1 where the atmospheric light is the air.
    assert np.all(enhanced[brain] >= windowed[brain] - 1e-6)
    assert enhanced[brain].mean() > 1.3 * windowed[brain].mean()

    def detail(image: np.ndarray) -> float:
        return float((image - ndimage.uniform_filter(image, (1, 5, 5)))[brain].std())

    # Detail within a patch is stretched by 1 / t (about 1.6 in the brain).
    assert detail(enhanced) > 1.2 * detail(windowed)
    assert enhanced.min() >= 0.0
    assert enhanced.max() <= 1.0


def test_preprocessing_commutes_with_a_left_right_flip(phantom_hu) -> None:
    hu = phantom_hu[0]
    flipped = preprocess_slices(hu[:, :, ::-1])
    np.testing.assert_allclose(flipped, preprocess_slices(hu)[:, :, ::-1], atol=1e-6)


def test_slices_are_processed_independently(phantom_hu) -> None:
    hu, _, k = phantom_hu
    np.testing.assert_array_equal(preprocess_slices(hu)[k], preprocess_slices(hu[k : k + 1])[0])


def test_config_round_trip_and_validation() -> None:
    config = PreprocessConfig(median_kernel=5, dehaze=False, window_center=35.0)
    assert PreprocessConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="median_kernel must be an odd positive int"):
        PreprocessConfig(median_kernel=4)
    with pytest.raises(ValueError, match="window_width > 0"):
        PreprocessConfig(window_width=0.0)
    with pytest.raises(ValueError, match="dehaze_omega"):
        PreprocessConfig(dehaze_omega=1.5)
    with pytest.raises(ValueError, match=r"unknown preprocessing keys \['gamma'\]"):
        PreprocessConfig.from_dict({"gamma": 2.0})


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[z, y, x\] volume of HU, got shape \(4, 4\)"):
        preprocess_slices(np.zeros((4, 4)))
    with pytest.raises(TypeError, match="PreprocessConfig"):
        preprocess_slices(np.zeros((1, 4, 4)), {"dehaze": False})
