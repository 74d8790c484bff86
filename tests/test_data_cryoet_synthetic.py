"""The synthetic CZII-like generator: reproducible, the real raw layout, classes and types that differ as intended."""
import json
import warnings

import numpy as np
import pytest
from scipy import ndimage

from seqsi.data.cryoet import (
    CLASSES, TOMO_TYPES, CryoETPatchDataset, SyntheticConfig, check_split, generate_synthetic, prepare_classification_data,
    preset, read_picks, read_tomogram, simulate_tomogram,
)
from seqsi.data.cryoet.synthetic import PHOTOMETRY, TEMPLATES, _sample_density, bounding_radius, render

SMALL = SyntheticConfig(n_tomograms=3, shape=(32, 48, 48), particles_per_tomogram=12, size_scale=0.5,
                        distractors_per_tomogram=4)


@pytest.fixture(scope="module")
def tomogram():
    return simulate_tomogram(np.random.default_rng(5), SMALL)


def test_seeded_reproducible(tomogram):
    again = simulate_tomogram(np.random.default_rng(5), SMALL)
    assert again[1] == tomogram[1]
    for t in TOMO_TYPES:
        np.testing.assert_array_equal(again[0][t], tomogram[0][t])
    other = simulate_tomogram(np.random.default_rng(6), SMALL)
    assert not np.array_equal(other[0]["wbp"], tomogram[0]["wbp"])


def test_particles_non_overlapping_inside_and_every_class_present(tomogram):
    _, picks, _ = tomogram
    assert {c for c, _ in picks} == set(range(6))
    reach = [bounding_radius(TEMPLATES[CLASSES[c]][1], TEMPLATES[CLASSES[c]][0] * SMALL.size_scale) for c, _ in picks]
    centres = np.array([p for _, p in picks])
    assert np.all(centres >= 0) and np.all(centres <= np.array(SMALL.shape) - 1)
    for i in range(len(picks)):
        for j in range(i):
            assert np.linalg.norm(centres[i] - centres[j]) >= reach[i] + reach[j]


def rendered(name, size=48):
    volume = np.zeros((size,) * 3)
    radius, parts = TEMPLATES[name]
    render(volume, parts, radius, (size / 2,) * 3, np.eye(3))
    return volume


def test_class_shapes_differ_as_the_real_particles():
    mass = {c: rendered(c).sum() for c in CLASSES}
    centre = {c: rendered(c)[24, 24, 24] for c in CLASSES}
    for shell in ("apo-ferritin", "virus-like-particle"):  # hollow: empty centre, dense rim
        radius = TEMPLATES[shell][0]
        assert centre[shell] < 0.05 and rendered(shell)[24, 24, 24 + int(0.9 * radius)] > 0.5
    assert centre["ribosome"] > 1.0 and centre["beta-amylase"] > 0.9  # dense, solid
    assert TEMPLATES["virus-like-particle"][0] > 2 * TEMPLATES["apo-ferritin"][0]
    assert max(mass, key=mass.get) == "ribosome" and min(mass, key=mass.get) == "beta-amylase"
    thyro = rendered("thyroglobulin") > 0.5  # elongated: longer along x than y or z in its own frame
    extent = [np.ptp(np.nonzero(thyro)[a]) for a in range(3)]
    assert extent[2] > 1.5 * extent[0]


def high_frequency_fraction(volume):
    power = np.abs(np.fft.fftn(volume - volume.mean())) ** 2
    k = np.sqrt(sum(np.meshgrid(*[np.fft.fftfreq(s) ** 2 for s in volume.shape], indexing="ij")))
    return power[k > 0.25].sum() / power.sum()


def wedge_fraction(volume):
    """Power in the missing wedge (|kz| > tan(70 deg) |kx|, away from the origin) over total power."""
    power = np.abs(np.fft.fftn(volume - volume.mean())) ** 2
    kz, _, kx = np.meshgrid(*[np.fft.fftfreq(s) for s in volume.shape], indexing="ij")
    wedge = (np.abs(kz) > np.tan(np.radians(70)) * np.abs(kx)) & (np.abs(kz) > 0.05)
    return power[wedge].sum() / power.sum()


def test_types_differ_in_intensity_and_texture_but_share_polarity(tomogram):
    volumes, picks, params = tomogram
    for t in TOMO_TYPES:  # each type lives in its own intensity range (gain, offset)
        gain, offset = PHOTOMETRY[t]
        assert volumes[t].std() == pytest.approx(params[t]["gain"], rel=1e-3)
        assert abs(params[t]["gain"] / gain - 1) < 0.5 and abs(volumes[t].mean() - offset) < 0.5 * gain
    hf = {t: high_frequency_fraction(volumes[t]) for t in TOMO_TYPES}
    assert hf["wbp"] > hf["ctfdeconvolved"] > hf["isonetcorrected"] > hf["denoised"]
    assert hf["wbp"] > 0.5 and hf["denoised"] < 0.05
    wf = {t: wedge_fraction(volumes[t]) for t in TOMO_TYPES}
    assert wf["isonetcorrected"] > 3 * max(wf["denoised"], wf["ctfdeconvolved"], wf["wbp"])  # wedge filled
    # dark protein in every type: each type, smoothed, anti-correlates with the underlying density
    density, _ = _sample_density(np.random.default_rng(5), SMALL)  # the same draws as the fixture
    reference = ndimage.gaussian_filter(density, 1.5).ravel()
    for t in TOMO_TYPES:
        assert np.corrcoef(ndimage.gaussian_filter(volumes[t], 1.5).ravel(), reference)[0, 1] < -0.25, t


def test_writes_the_czii_raw_layout(tmp_path):
    cfg = SyntheticConfig(n_tomograms=3, shape=(16, 24, 24), particles_per_tomogram=6, size_scale=0.3,
                          distractors_per_tomogram=1, missing=((1, "wbp"),))
    summary = generate_synthetic(tmp_path / "raw", cfg, seed=2, progress=False)
    run_dir = tmp_path / "raw" / "train" / "static" / "ExperimentRuns" / "TS_syn00" / "VoxelSpacing10.000"
    zattrs = json.loads((run_dir / "denoised.zarr" / ".zattrs").read_text())
    assert [d["path"] for d in zattrs["multiscales"][0]["datasets"]] == ["0", "1", "2"]
    assert json.loads((run_dir / "denoised.zarr" / "1" / ".zarray").read_text())["shape"] == [8, 12, 12]
    assert json.loads((run_dir / "denoised.zarr" / "0" / ".zarray").read_text())["zarr_format"] == 2
    data, spacing = read_tomogram(run_dir / "denoised.zarr")
    assert data.shape == (16, 24, 24) and spacing == pytest.approx((10.012,) * 3)
    again = simulate_tomogram(np.random.default_rng(np.random.default_rng(2).integers(2**63)), cfg)
    np.testing.assert_array_equal(data, again[0]["denoised"])
    picks_dir = tmp_path / "raw" / "train" / "overlay" / "ExperimentRuns" / "TS_syn00" / "Picks"
    assert sorted(p.stem for p in picks_dir.glob("*.json")) == sorted(CLASSES)
    picks, absent = read_picks(picks_dir, 10.012)
    assert not absent and len(picks) == sum(summary["runs"]["TS_syn00"]["picks"].values())
    got = sorted((p.class_id, tuple(np.round(p.centre, 6))) for p in picks)
    assert got == sorted((c, tuple(np.round(x, 6))) for c, x in again[1])
    assert not (tmp_path / "raw" / "train" / "static" / "ExperimentRuns" / "TS_syn01" / "VoxelSpacing10.000" / "wbp.zarr").exists()
    assert summary["runs"]["TS_syn01"]["missing_types"] == ["wbp"]


def test_generate_then_prepare_then_load(tmp_path):
    cfg = SyntheticConfig(n_tomograms=3, shape=(24, 32, 32), particles_per_tomogram=8, size_scale=0.4,
                          distractors_per_tomogram=2, missing=((2, "isonetcorrected"),))
    generate_synthetic(tmp_path / "raw", cfg, seed=0, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = prepare_classification_data(tmp_path / "raw", tmp_path / "out", patch_size=12, progress=False)
    assert any("TS_syn02" in str(w.message) and "isonetcorrected" in str(w.message) for w in caught)
    assert summary["missing_types"] == {"isonetcorrected": ["TS_syn02"]}
    for t in TOMO_TYPES:
        n = check_split(tmp_path / "out" / t / "train")
        dataset = CryoETPatchDataset(tmp_path / "out" / t / "train", 8, augment=True)
        assert len(dataset) == n and dataset[0][0].shape == (1, 8, 8, 8)


def test_preset_overrides_and_bad_config():
    assert preset("quick", n_tomograms=4, noise=None).n_tomograms == 4
    with pytest.raises(ValueError, match="preset"):
        preset("huge")
    with pytest.raises(ValueError, match="missing"):
        SyntheticConfig(missing=((99, "wbp"),))
