"""The feature gate's maths (ssclnet.ood): Mahalanobis scores, the threshold rule, the on-disk format, and
fit-gate end to end on the committed mini fixture."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ssclnet import ood

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "brain-mri-mini"


def _blobs(seed=0, n=400, d=8, k=3):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 5, (k, d))
    a = rng.normal(0, 1, (d, d))
    cov = a @ a.T / d + 0.5 * np.eye(d)
    y = rng.integers(0, k, n)
    x = means[y] + rng.multivariate_normal(np.zeros(d), cov, n)
    return x, y, means, cov


def test_score_of_a_class_mean_is_zero_and_positive_elsewhere():
    x, y, _, _ = _blobs()
    g = ood.fit_gaussians(x, y, 3)
    assert np.allclose(g.scores(g.means), 0.0, atol=1e-9)
    assert (g.scores(x) > 0).all()
    # the min over classes: a point is scored against its nearest class mean
    p = g.means[1] + 0.1
    d = p - g.means[1]
    assert g.scores(p[None])[0] == pytest.approx(float(d @ g.precision @ d), rel=1e-9)


def test_tied_covariance_is_the_pooled_within_class_one_and_shrinkage_is_bounded():
    x, y, means, cov = _blobs(n=4000)
    g = ood.fit_gaussians(x, y, 3)
    assert 0 <= g.shrinkage < 0.2
    assert np.allclose(g.means, means, atol=0.2)
    assert np.allclose(np.linalg.inv(g.precision), cov, atol=0.15)
    assert np.allclose(g.precision, g.precision.T)
    # squared Mahalanobis distances of in-class points follow chi-square with d dof: mean ~ d
    assert g.scores(x).mean() == pytest.approx(x.shape[1], rel=0.15)
    # far points score high
    assert g.scores(means.mean(0, keepdims=True) + 50).min() > 10 * x.shape[1]


def test_fixed_shrinkage_matches_the_formula():
    x, y, _, _ = _blobs()
    g = ood.fit_gaussians(x, y, 3, shrinkage=0.5)
    c = x - g.means[y]
    emp = c.T @ c / len(c)
    want = 0.5 * emp + 0.5 * np.trace(emp) / emp.shape[0] * np.eye(emp.shape[0])
    assert np.allclose(np.linalg.inv(g.precision), want)


def test_threshold_rule_keeps_at_least_target_in_range():
    s = np.arange(1, 101, dtype=float)[::-1]  # 100 scores 1..100 in any order
    assert ood.threshold_for(s, 0.97) == 97.0  # the ceil(0.97 * 100) = 97th smallest
    assert ood.in_range_rate(s, 97.0) == 0.97
    assert ood.threshold_for(s, 1.0) == 100.0
    rng = np.random.default_rng(1)
    for n in (7, 33, 100, 719):
        v = rng.normal(size=n)
        for target in (0.9, 0.97, 0.99):
            t = ood.threshold_for(v, target)
            assert ood.in_range_rate(v, t) >= target
            assert (v < t).mean() < target or n * target == int(n * target)  # the smallest such threshold
    with pytest.raises(ValueError):
        ood.threshold_for(np.array([]), 0.97)


def test_confident_threshold_keeps_the_target_on_new_draws_where_the_quantile_does_not():
    # Uniform scores: the share of new in-distribution images at or below a threshold t is t itself.
    rng = np.random.default_rng(0)
    conf, plain = [], []
    for _ in range(2000):
        s = rng.random(269)
        conf.append(ood.threshold_with_confidence(s, 0.97, 0.95)[0])
        plain.append(ood.threshold_with_confidence(s, 0.97, 0.0)[0])
    assert np.mean(np.asarray(conf) >= 0.97) >= 0.94  # the promised 95 %, up to sampling error
    assert np.mean(np.asarray(plain) >= 0.97) < 0.7  # the plain quantile falls short about every other time
    s = rng.random(269)
    assert ood.threshold_with_confidence(s, 0.97, 0.0)[0] == ood.threshold_for(s, 0.97)
    assert ood.threshold_with_confidence(s, 0.97, 0.95)[1] == 266  # of 269: the 98.9 % quantile


def test_confident_threshold_refuses_too_few_images():
    with pytest.raises(ValueError, match="at least 99 are needed"):
        ood.threshold_with_confidence(np.arange(40.0), 0.97, 0.95)


def test_bytes_round_trip_is_float32_means_then_precision():
    x, y, _, _ = _blobs()
    g = ood.fit_gaussians(x, y, 3)
    data = g.to_bytes()
    assert len(data) == 4 * (3 * 8 + 8 * 8)
    a = np.frombuffer(data, "<f4")
    assert np.allclose(a[:24].reshape(3, 8), g.means, rtol=1e-6)
    assert np.allclose(a[24:].reshape(8, 8), g.precision, rtol=1e-6)
    back = ood.Gaussians.from_bytes(data, 3, 8)
    assert np.allclose(back.scores(x), g.scores(x), rtol=1e-4)
    with pytest.raises(ValueError):
        ood.Gaussians.from_bytes(data[:-4], 3, 8)


def test_fit_gate_on_the_mini_fixture(tmp_path):
    pytest.importorskip("torch")
    from ssclnet.parity import random_checkpoint
    from ssclnet.trust import fit_gate

    ckpt = tmp_path / "random.pt"
    random_checkpoint(ckpt, input_size=32, seed=1)
    m = str(FIXTURE / "manifest.csv")
    gate = fit_gate(str(ckpt), m, "train", "val", m, "test", tmp_path / "gate", target=0.97, log=lambda *_: None)
    f, c = gate["features"], gate["calibration"]
    assert f["method"] == "mahalanobis-tied" and f["layer"] == "avgpool" and f["dim"] == 512
    assert f["in_range_rate_val"] >= 0.97
    assert c["method"] == "temperature" and c["temperature"] > 0 and c["bins"] == 15
    # a calibration set this small may only soften (trust.MIN_CALIBRATION_IMAGES)
    assert c["min_temperature"] == 1.0 and c["temperature"] >= 1.0
    assert (tmp_path / "gate" / "gaussians.bin").stat().st_size == 4 * (4 * 512 + 512 * 512)
    assert json.loads((tmp_path / "gate" / "gate.json").read_text())["features"]["threshold"] == f["threshold"]
    for png in ("reliability-before.png", "reliability-after.png"):
        assert (tmp_path / "gate" / png).read_bytes()[:4] == b"\x89PNG"
    assert math.isfinite(c["ece_before"]) and math.isfinite(c["ece_after"])


def test_leak_free_val_drops_rows_whose_group_is_in_the_training_rows(tmp_path):
    from ssclnet.trust import leak_free_mask

    m = tmp_path / "m.csv"
    m.write_text(
        "file,label,group,split\na.jpg,x,1,train\nb.jpg,x,2,unlabeled\nc.jpg,x,1,val\nd.jpg,x,3,val\n"
        "e.jpg,x,2,val\nf.jpg,x,9,test\n"
    )
    assert leak_free_mask(str(m), "val", "train,unlabeled").tolist() == [False, True, False]
    assert leak_free_mask(str(m), "val", "train").tolist() == [False, True, True]


def test_fit_gate_reuses_its_features_and_rethresholds(tmp_path):
    pytest.importorskip("torch")
    from ssclnet.parity import random_checkpoint
    from ssclnet.trust import fit_gate, rethreshold_gate

    ckpt = tmp_path / "random.pt"
    random_checkpoint(ckpt, input_size=32, seed=2)
    m = str(FIXTURE / "manifest.csv")
    a = fit_gate(str(ckpt), m, "train", "val", m, "test", tmp_path / "g", log=lambda *_: None)
    msgs = []
    b = fit_gate(str(ckpt), m, "train", "val", m, "test", tmp_path / "g", log=msgs.append)
    assert any("reusing" in x for x in msgs)
    assert b["features"]["threshold"] == a["features"]["threshold"]
    c = rethreshold_gate(tmp_path / "g", data=m, fit_split="train", val_split="val", target=0.5)
    assert c["features"]["threshold"] <= a["features"]["threshold"]
    assert c["calibration"]["temperature"] == pytest.approx(a["calibration"]["temperature"])


def _dev_rows(spec: str) -> list[dict[str, str]]:
    """'label:group:split' items -> manifest rows."""
    out = []
    for i, item in enumerate(spec.split()):
        label, group, split = item.split(":")
        out.append({"file": f"{i}.jpg", "label": label, "group": group, "split": split})
    return out


def test_calibration_groups_are_whole_pure_unlabeled_groups_balanced_by_class():
    from ssclnet.wholehead import calibration_groups

    rows = _dev_rows(
        "a:1:unlabeled a:1:unlabeled a:2:unlabeled a:3:unlabeled a:4:train a:4:unlabeled "
        "b:5:unlabeled b:6:unlabeled b:7:val b:7:unlabeled b:8:unlabeled b:9:test"
    )
    chosen = calibration_groups(rows, 4)
    # never a group with a member in train/val/test (4, 7, 9); about 2 images per class
    assert chosen and not chosen & {"4", "7", "9"}
    per_label = {lab: sum(1 for r in rows if r["group"] in chosen and r["label"] == lab) for lab in "ab"}
    assert per_label["a"] >= 2 and per_label["b"] == 2
    assert calibration_groups(rows, 4) == chosen  # fixed choice, no random generator
    assert calibration_groups(rows, 0) == set()


def test_finetune_manifest_moves_calibration_groups_whole_and_never_writes_test(tmp_path):
    import csv

    from ssclnet.wholehead import write_finetune_manifest

    dev = tmp_path / "dev.csv"
    rows = _dev_rows(" ".join(f"{'ab'[i % 2]}:{i // 2}:unlabeled" for i in range(40)) + " a:99:test b:98:train")
    with open(dev, "w", newline="") as f:
        w = csv.DictWriter(f, ["file", "label", "group", "split"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    wh = tmp_path / "wh.csv"
    wh.write_text("file,label,group,split\ns1.dcm,notumor,ser,wholehead\n")
    out = tmp_path / "runs" / "ft.csv"
    counts = write_finetune_manifest(dev, wh, out, repeat=2, calibration_images=10)
    assert counts["calib"] >= 10 and "test" not in counts and counts["wholehead"] == 2
    got = list(csv.DictReader(open(out)))
    calib_groups = {r["group"] for r in got if r["split"] == "calib"}
    assert not any(r["group"] in calib_groups and r["split"] != "calib" for r in got)
    assert not (tmp_path / "runs" / "ft.csv.partial").exists()


def test_per_group_mask_keeps_the_first_rows_of_each_group(tmp_path):
    from ssclnet.trust import per_group_mask

    m = tmp_path / "m.csv"
    m.write_text(
        "file,label,group,split\na.jpg,x,1,calib\nb.jpg,x,1,calib\nc.jpg,x,1,calib\nd.jpg,x,2,calib\n"
        "e.jpg,x,,calib\nf.jpg,x,,calib\ng.jpg,x,1,train\n"
    )
    assert per_group_mask(str(m), "calib", 1).tolist() == [True, False, False, True, True, True]
    assert per_group_mask(str(m), "calib", 2).tolist() == [True, True, False, True, True, True]
    assert per_group_mask(str(m), "calib", 0).all()
