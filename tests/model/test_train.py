"""Training of the dual-path network: loss, schedule, sampling, weights folders, inference."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from model.errors import MethodError
from model.network import NetworkConfig, build_network
from model.train import (
    CARD_FILE,
    CHECKPOINT_FILE,
    WEIGHTS_FILE,
    SliceSet,
    TrainingError,
    TrainRecipe,
    aspects_slices,
    dice_ce_loss,
    find_cases,
    learning_rate,
    load_trained,
    prepare_case,
    read_card,
    resize_slices,
    segment_volume,
    train,
    train_steps,
)

SMALL = NetworkConfig.preset("lite", input_size=64)
"""The lite topology on 64 x 64 inputs: cheap enough for a 2-core test machine."""

LESION_SEEDS = (22, 25)
"""Default phantoms with a lesion over two or more units (others have none)."""


def _write_case(folder: Path, case: str, seed: int) -> None:
    from model.phantom import generate_phantom

    phantom = generate_phantom(seed)
    (folder / case).mkdir(parents=True)
    (folder / "masks").mkdir(exist_ok=True)
    sitk.WriteImage(phantom.image, str(folder / case / "image.nii.gz"))
    sitk.WriteImage(phantom.lesion_mask, str(folder / "masks" / f"{case}.nii.gz"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Three phantoms (two with a lesion) in the layout ``readerstudy phantom generate``
    writes, with a truth table."""
    from model.phantom import phantom_truth

    folder = tmp_path_factory.mktemp("phantoms")
    rows = ["case,unit,truth"]
    for i, seed in enumerate((*LESION_SEEDS, 3)):
        case = f"case{i + 1:03d}"
        _write_case(folder, case, seed)
        rows += [f"{case},{u},{t}" for u, t in phantom_truth(seed).items()]
    (folder / "truth.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def prepared(data_dir):
    """The first phantom on the inference path at the small network's input size."""
    from model.preprocess import PreprocessConfig

    image = sitk.ReadImage(str(data_dir / "case001" / "image.nii.gz"))
    mask = sitk.ReadImage(str(data_dir / "masks" / "case001.nii.gz"))
    return prepare_case("case001", image, mask, PreprocessConfig(), SMALL.input_size)


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("weights")
    recipe = TrainRecipe(epochs=2, samples_per_epoch=8, batch_size=4, val_fraction=0.34)
    train(data_dir, SMALL, out, recipe=recipe, threads=1)
    return out


def test_loss_falls_on_a_tiny_overfit_run(prepared) -> None:
    data = SliceSet([prepared])
    assert len(data.lesion) > 0
    order = np.concatenate([data.lesion[:3], data.free[:1]])
    recipe = TrainRecipe(batch_size=4)
    torch.manual_seed(0)
    net = build_network(SMALL)
    optimiser = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _ in range(25):
        losses += train_steps(net, optimiser, data, order, None, recipe, torch.device("cpu"))
    assert losses[-1] < 0.6 * losses[0]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


def test_prepared_case_follows_the_inference_path(prepared) -> None:
    from model.anatomy import LABELS

    n = len(prepared.slices)
    assert prepared.inputs.shape == (n, 3, 64, 64)
    assert prepared.inputs.dtype == np.float16
    assert prepared.target.shape == (n, 64, 64)
    assert prepared.mask.shape == (n, 256, 256)
    # Every slice the atlas covers is there, and the lesion lies in them.
    assert set(np.unique(prepared.atlas)) >= set(LABELS.values())
    assert prepared.mask.sum() > 0
    assert prepared.lesion_slices.sum() >= 2
    # The difference channel is the original minus the mirror (up to float16 rounding).
    x = prepared.inputs.astype(np.float32)
    np.testing.assert_allclose(x[:, 2], x[:, 0] - x[:, 1], atol=2e-3)


def test_dice_ce_loss() -> None:
    target = torch.zeros(2, 8, 8, dtype=torch.long)
    target[0, 2:6, 2:6] = 1
    perfect = torch.stack([1.0 - 2.0 * target, 2.0 * target - 1.0], dim=1).float() * 20.0
    assert float(dice_ce_loss(perfect, target)) < 1e-3
    wrong = -perfect
    assert float(dice_ce_loss(wrong, target)) > 10.0
    # Without the Dice term it is the cross-entropy.
    logits = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    ce = torch.nn.functional.cross_entropy(logits, target)
    assert float(dice_ce_loss(logits, target, dice_weight=0.0)) == pytest.approx(float(ce))
    assert float(dice_ce_loss(logits, target)) > float(ce)


def test_stepped_power_decay_schedule() -> None:
    recipe = TrainRecipe(epochs=100, learning_rate=0.002, lr_power=0.9, lr_step_epochs=5)
    assert learning_rate(0, recipe) == pytest.approx(0.002)
    assert learning_rate(4, recipe) == pytest.approx(0.002)  # constant within a step
    assert learning_rate(5, recipe) == pytest.approx(0.002 * 0.95**0.9)
    assert learning_rate(99, recipe) == pytest.approx(0.002 * 0.05**0.9)
    rates = [learning_rate(e, recipe) for e in range(100)]
    assert all(a >= b for a, b in itertools.pairwise(rates))
    assert len(set(rates)) == 20


def test_sampler_balances_lesion_slices() -> None:
    case = type(
        "Case",
        (),
        {
            "inputs": np.zeros((20, 3, 4, 4), np.float16),
            "target": np.zeros((20, 4, 4), np.uint8),
        },
    )()
    case.target[:2, 1, 1] = 1
    case.inputs[0, 2, 1, 1] = -0.5
    case.lesion_slices = case.target.reshape(20, -1).any(axis=1)
    data = SliceSet([case])
    drawn = data.draw(40, 0.5, np.random.default_rng(0))
    assert np.isin(drawn, [0, 1]).sum() == 20  # 2 lesion slices of 20 fill half the draw
    x, y = data.batch(np.array([0]), np.array([True]), torch.device("cpu"))
    assert y[0, 1, 2] == 1  # flipped left-right: column 1 of 4 -> column 2
    assert x[0, 2, 1, 2] == -0.5  # and the channels with it
    assert x.dtype == torch.float32


def test_aspects_slices() -> None:
    atlas = np.zeros((10, 4, 4), np.uint8)
    atlas[3, 0, 0] = 5
    atlas[6, 1, 1] = 2
    np.testing.assert_array_equal(aspects_slices(atlas, 1), [2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(aspects_slices(atlas, 0), [3, 4, 5, 6])
    np.testing.assert_array_equal(aspects_slices(atlas, 5), np.arange(10))
    assert aspects_slices(np.zeros((3, 2, 2)), 1).size == 0


def test_bad_data_folders_are_refused(tmp_path, data_dir) -> None:
    with pytest.raises(TrainingError, match="has no masks/ folder"):
        find_cases(tmp_path)
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "lost.nii.gz").write_bytes(b"")
    with pytest.raises(TrainingError, match=r"1 mask\(s\) in .* have no image \(lost\)"):
        find_cases(tmp_path)
    with pytest.raises(TrainingError, match="distinct names"):
        find_cases([data_dir, tmp_path / data_dir.name])


def test_several_folders_name_their_cases(tmp_path, data_dir) -> None:
    import shutil

    other = tmp_path / "site"
    shutil.copytree(data_dir / "case003", other / "case003")
    (other / "masks").mkdir()
    shutil.copy(data_dir / "masks" / "case003.nii.gz", other / "masks")
    cases = find_cases([data_dir, other])
    assert sorted(cases) == [
        f"{data_dir.name}/case001",
        f"{data_dir.name}/case002",
        f"{data_dir.name}/case003",
        "site/case003",
    ]
    assert cases["site/case003"] == (other / "case003", other / "masks" / "case003.nii.gz")


def test_recipe_validation() -> None:
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        TrainRecipe(epochs=0)
    with pytest.raises(ValueError, match="lesion_fraction must lie in"):
        TrainRecipe(lesion_fraction=1.0)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        TrainRecipe(learning_rate=0.0)


def test_the_weights_folder_describes_itself(trained, data_dir) -> None:
    card = json.loads((trained / CARD_FILE).read_text())
    assert card["schema"] == "readerstudy.dualpath/1"
    assert card["network"] == SMALL.to_dict()
    assert card["preprocess"]["dehaze"] is True
    assert card["training"]["recipe"]["learning_rate"] == 0.002
    assert card["training"]["epochs_run"] == 2
    data = card["training"]["data"]
    assert sorted(data["train_cases"] + data["val_cases"]) == ["case001", "case002", "case003"]
    assert data["train_lesion_slices"] > 0
    assert len(card["training"]["history"]) == 2
    assert card["metrics"]["region_auc"]["units"] == 20 * len(data["val_cases"])
    assert "segmentation" in card["metrics"]
    assert read_card(trained)["sha256"] == card["sha256"]
    assert (trained / CHECKPOINT_FILE).is_file()


def test_load_trained_rebuilds_the_network(trained) -> None:
    net, network, preprocess = load_trained(trained, "cpu")
    assert network == SMALL
    assert preprocess.dehaze is True
    assert not net.training
    state = torch.load(trained / WEIGHTS_FILE, weights_only=True)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())


def test_a_changed_or_missing_weights_file_is_refused(trained, tmp_path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / CARD_FILE).write_text((trained / CARD_FILE).read_text())
    weights = bytearray((trained / WEIGHTS_FILE).read_bytes())
    weights[len(weights) // 2] ^= 0xFF
    (copy / WEIGHTS_FILE).write_bytes(bytes(weights))
    with pytest.raises(MethodError, match="does not match the sha256"):
        load_trained(copy)
    (copy / WEIGHTS_FILE).unlink()
    with pytest.raises(MethodError, match="is not a dual-path weights folder"):
        load_trained(copy)


def test_training_resumes_and_refuses_other_settings(trained, data_dir) -> None:
    before = (trained / WEIGHTS_FILE).read_bytes()
    recipe = TrainRecipe(epochs=2, samples_per_epoch=8, batch_size=4, val_fraction=0.34)
    card = train(data_dir, SMALL, trained, recipe=recipe, threads=1)
    assert card["training"]["epochs_run"] == 2  # nothing left to train: resumed at the end
    assert (trained / WEIGHTS_FILE).read_bytes() == before
    with pytest.raises(TrainingError, match="made with other settings"):
        train(data_dir, SMALL, trained, recipe=replace(recipe, seed=1), threads=1)


def test_segment_volume_resizes_and_returns_probabilities() -> None:
    torch.manual_seed(0)
    net = build_network(SMALL).eval()
    stacked = np.random.default_rng(0).random((3, 3, 96, 80)).astype(np.float32)
    out = segment_volume(net, stacked, "cpu", batch_size=2)
    assert out.shape == (3, 96, 80)
    assert out.dtype == np.float32
    assert 0.0 <= out.min() <= out.max() <= 1.0
    # At the input size no resizing happens: the softmax of the network itself, and with
    # mirroring its mean with the flipped-back softmax of the flipped slices.
    native = stacked[:, :, :64, :64]
    with torch.inference_mode():
        direct = torch.softmax(net(torch.from_numpy(native)), dim=1)[:, 1].numpy()
        flipped = torch.softmax(net(torch.from_numpy(native[..., ::-1].copy())), dim=1)[:, 1]
    unmirrored = segment_volume(net, native, "cpu", mirrored=False)
    np.testing.assert_allclose(unmirrored, direct, atol=1e-5)
    averaged = (direct + flipped.numpy()[..., ::-1]) / 2
    np.testing.assert_allclose(segment_volume(net, native, "cpu"), averaged, atol=1e-5)
    assert np.abs(averaged - direct).max() > 1e-3  # an untrained network is not symmetric
    with pytest.raises(ValueError, match=r"must be \[z, 3, y, x\]"):
        segment_volume(net, stacked[:, :2], "cpu")


def test_mirrored_segmentation_is_left_right_equivariant() -> None:
    """With test-time mirroring, the segmentation of the flipped head is the flipped
    segmentation of the head, whatever the weights."""
    torch.manual_seed(1)
    net = build_network(SMALL).eval()
    stacked = np.random.default_rng(1).random((2, 3, 96, 80)).astype(np.float32)
    out = segment_volume(net, stacked, "cpu")
    out_of_flipped = segment_volume(net, stacked[..., ::-1].copy(), "cpu")
    np.testing.assert_allclose(out_of_flipped, out[..., ::-1], atol=1e-4)
    plain = segment_volume(net, stacked, "cpu", mirrored=False)
    plain_of_flipped = segment_volume(net, stacked[..., ::-1].copy(), "cpu", mirrored=False)
    assert np.abs(plain_of_flipped - plain[..., ::-1]).max() > 1e-3


def test_resize_slices_antialiases_when_shrinking() -> None:
    checker = (np.indices((64, 64)).sum(axis=0) % 2).astype(np.float32)[None, None]
    small = resize_slices(checker, (16, 16)).numpy()
    np.testing.assert_allclose(small, 0.5, atol=5e-3)  # area-like average, no aliasing
    aliased = torch.nn.functional.interpolate(torch.from_numpy(checker), size=(16, 16))
    assert float((aliased - 0.5).abs().min()) == 0.5  # plain sampling picks one colour
    assert resize_slices(checker, (64, 64)).shape == (1, 1, 64, 64)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_agrees_with_the_cpu() -> None:
    torch.manual_seed(0)
    net = build_network(SMALL).eval()
    stacked = np.random.default_rng(0).random((4, 3, 64, 64)).astype(np.float32)
    cpu = segment_volume(net, stacked, "cpu")
    gpu = segment_volume(net, stacked, "cuda")
    np.testing.assert_allclose(gpu, cpu, atol=2e-2)


def test_cached_registrations_serve_other_preprocessing(trained, data_dir, monkeypatch) -> None:
    from model import train as train_module
    from model.preprocess import PreprocessConfig

    def no_registration(case, image):
        raise AssertionError(f"{case} was registered again")

    monkeypatch.setattr(train_module, "register_case", no_registration)
    plain = PreprocessConfig(dehaze=False)
    cases, skipped = train_module.prepare_cases(
        data_dir, plain, SMALL.input_size, cache_dir=trained / "cache"
    )
    assert [c.case for c in cases] == ["case001", "case002", "case003"]
    assert skipped == {}
    enhanced, _ = train_module.prepare_cases(
        data_dir, PreprocessConfig(), SMALL.input_size, cache_dir=trained / "cache"
    )
    assert not np.array_equal(cases[0].inputs, enhanced[0].inputs)
    np.testing.assert_array_equal(cases[0].atlas, enhanced[0].atlas)


def test_the_module_command_trains_and_records_itself(trained, data_dir, tmp_path, capsys) -> None:
    from model.train import main

    out = tmp_path / "lite"
    argv = ["--data", str(data_dir), "--out", str(out), "--cache", str(trained / "cache")]
    argv += ["--epochs", "1", "--samples-per-epoch", "4", "--batch-size", "4", "--threads", "1"]
    assert main(argv) == 0
    card = json.loads((out / CARD_FILE).read_text())
    assert card["network"]["name"] == "lite"
    assert card["training"]["command"].startswith("python -m model.train --data ")
    assert card["training"]["recipe"]["batch_size"] == 4
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "has no masks/ folder" in capsys.readouterr().err
