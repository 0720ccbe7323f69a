"""Grad-CAM (`ssclnet explain`, ssclnet.explain): the maths, the command, the TypeScript parity fixture, and the
faithfulness checks of Adebayo et al. (2018) on dev test images (those skip without ../shared/data).

Bounds (docs/results.md, "Where the model looks", has the figures on 100 images):
- model randomisation: mean Spearman between the trained model's heatmaps and those of the same network with the
  head and stages 4 and 3 re-initialised (cascading) < 0.3; with the head alone re-initialised < 0.5;
- deletion: blurring the top-10 % heatmap pixels lowers the predicted-class probability more, on average, than
  blurring 10 % random pixels, both as random blobs of the heatmap's own size and as scattered pixels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ssclnet import explain as E
from ssclnet.cli import main as cli
from ssclnet.model import Classifier

REPO = Path(__file__).resolve().parents[2]
REGISTRY = REPO / "models"
FIXTURE = REPO / "tests" / "fixtures" / "gradcam"
DEV = REPO.parent / "shared" / "data" / "brain-mri-2d" / "dev" / "splits-protocol-500.csv"
PER_CLASS = 5  # 20 dev test images: < 60 s on 2 busy cores


def _random_model(seed: int = 0, classes: int = 4) -> Classifier:
    torch.manual_seed(seed)
    m = Classifier(classes)
    for mod in m.modules():  # non-trivial BatchNorm statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
    return m.eval()


def test_cam_shapes_range_and_class_choice():
    m = _random_model()
    x = torch.randn(3, 1, 64, 64)
    r = E.cam(m, x, layer="layer3")
    assert r.heatmaps.shape == (3, 64, 64) and r.raw.shape == (3, 4, 4)
    assert (r.heatmaps >= 0).all() and (r.heatmaps <= 1).all()
    for h in r.heatmaps:
        assert h.max() == pytest.approx(1.0) or h.max() == 0.0
    assert (r.class_index == r.logits.argmax(1)).all()
    r2 = E.cam(m, x, layer="layer3", class_index=[1, 2, 3])
    assert r2.class_index.tolist() == [1, 2, 3]
    with pytest.raises(ValueError):
        E.cam(m, x, layer="layer5")
    with pytest.raises(ValueError):
        E.cam(m, x, method="cam")


def test_gradcam_on_the_last_stage_is_cam():
    """On the last stage, d y_c / d A_k[i,j] = W[c,k] / (h w): Grad-CAM reduces to CAM (Zhou et al. 2016)."""
    m = _random_model(1)
    x = torch.randn(2, 1, 64, 64)
    r = E.cam(m, x, layer="layer4")
    with torch.no_grad():
        a = m.encoder.layer4(
            m.encoder.layer3(
                m.encoder.layer2(m.encoder.layer1(m.encoder.maxpool(m.encoder.relu(m.encoder.bn1(m.encoder.conv1(x))))))
            )
        )
        w = m.classifier.weight[torch.as_tensor(r.class_index)] / (a.shape[2] * a.shape[3])
        want = torch.relu((w[:, :, None, None] * a).sum(1)).numpy()
    np.testing.assert_allclose(r.raw, want, rtol=1e-4, atol=1e-6)


def test_upsampling_is_half_pixel_bilinear_and_flat_maps_are_zero():
    raw = torch.tensor([[[0.0, 1.0], [0.0, 1.0]], [[2.0, 2.0], [2.0, 2.0]]])
    h = E.upsample_normalise(raw, 4).numpy()
    np.testing.assert_allclose(h[0, 0], [0, 0.25, 0.75, 1], atol=1e-6)  # align_corners=False
    assert (h[1] == 0).all()


def test_randomisation_changes_the_weights_it_should_and_only_those():
    m = _random_model(2)
    r = E.randomised_copy(m, 3)  # classifier, layer4.1, layer4.0
    sd, rd = m.state_dict(), r.state_dict()
    changed = {
        k.split(".")[0] if k.startswith("classifier") else ".".join(k.split(".")[1:3])
        for k in sd
        if not torch.equal(sd[k], rd[k])
    }
    assert changed == {"classifier", "layer4.1", "layer4.0"}


def test_spearman():
    a = np.arange(10.0)
    assert E.spearman(a, a) == pytest.approx(1)
    assert E.spearman(a, -a) == pytest.approx(-1)
    assert E.spearman(a, np.ones(10)) == 0.0


def test_explain_command_reproduces_the_parity_fixture(tmp_path, capsys):
    """The committed fixture (PyTorch's side of tests/unit/gradcam.test.ts) is what `ssclnet explain --parity` says."""
    fx = json.loads((FIXTURE / "gradcam.json").read_text())
    model_dir = REGISTRY / fx["model_version"]
    assert cli(["explain", "--model", str(model_dir), "--parity", "--no-png", "--out", str(tmp_path)]) == 0
    got = json.loads((tmp_path / "gradcam.json").read_text())
    assert [i["class_index"] for i in got["inputs"]] == [i["class_index"] for i in fx["inputs"]]
    for g, f in zip(got["inputs"], fx["inputs"]):
        np.testing.assert_allclose(g["raw"], f["raw"], rtol=1e-4, atol=1e-6 * max(f["raw"]))
    a = np.frombuffer((tmp_path / "heatmaps.u8.bin").read_bytes(), np.uint8).astype(int)
    b = np.frombuffer((FIXTURE / "heatmaps.u8.bin").read_bytes(), np.uint8).astype(int)
    assert np.abs(a - b).max() <= 1
    assert "layer3_1_out" in capsys.readouterr().out


def test_explain_command_on_files_writes_pngs_and_refuses_bad_input(tmp_path):
    imgs = sorted((REPO / "tests" / "fixtures" / "parity" / "jpeg").glob("*.jpg"))[:2]
    fx = json.loads((FIXTURE / "gradcam.json").read_text())
    model_dir = REGISTRY / fx["model_version"]
    assert (
        cli(
            [
                "explain",
                "--model",
                str(model_dir),
                "--images",
                *map(str, imgs),
                "--class",
                "meningioma",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    got = json.loads((tmp_path / "gradcam.json").read_text())
    assert [i["class"] for i in got["inputs"]] == ["meningioma", "meningioma"]
    assert len(list(tmp_path.glob("*-gradcam.png"))) == 2
    assert (
        cli(
            [
                "explain",
                "--model",
                str(model_dir),
                "--images",
                str(imgs[0]),
                "--layer",
                "layer9",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert (
        cli(
            [
                "explain",
                "--model",
                str(model_dir),
                "--images",
                str(imgs[0]),
                "--class",
                "cat",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )


@pytest.fixture(scope="module")
def dev_images():
    if not DEV.is_file():
        pytest.skip(f"{DEV} is absent (the shared dev data set): faithfulness checks need dev test images; CI has it")
    model, classes, spec, _ = E.load_model(model_dir=REGISTRY)
    recs = E.sample_records(DEV, "test", classes, PER_CLASS, seed=0)
    return model, torch.from_numpy(E.load_inputs([r.path for r in recs], spec))


def test_faithfulness_model_randomisation(dev_images):
    model, x = dev_images
    res = E.cam(model, x)
    cascade = E.cam(E.randomised_copy(model, 1 + E.CASCADE.index(f"{E.DEFAULT_LAYER}.0")), x)
    head = E.cam(E.randomised_copy(model, 1), x)
    rho_c = np.array([E.spearman(a, b) for a, b in zip(res.heatmaps, cascade.heatmaps)])
    rho_h = np.array([E.spearman(a, b) for a, b in zip(res.heatmaps, head.heatmaps)])
    print(
        f"Spearman trained vs randomised on {len(x)} dev test images: cascade (head+layer4+layer3) mean "
        f"{rho_c.mean():.3f} max {rho_c.max():.3f}; head only mean {rho_h.mean():.3f}"
    )
    assert rho_c.mean() < 0.3
    assert rho_h.mean() < 0.5


@pytest.mark.parametrize("baseline", E.BASELINES)
def test_faithfulness_deletion(dev_images, baseline):
    model, x = dev_images
    res = E.cam(model, x)
    d = E.deletion(model, x, res, 0.1, fill="blur", baseline=baseline)
    top, rnd = d["drop_top"].mean(), d["drop_random"].mean()
    print(
        f"deletion (blur, random {baseline}) on {len(x)} dev test images: predicted-class probability drops "
        f"{top:.3f} (top-10 % heatmap pixels) vs {rnd:.3f} (random 10 %)"
    )
    assert top > rnd + 0.05
