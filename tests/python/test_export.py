"""`ssclnet export`: structure, hashes, atomicity, and the exported graph's numbers.

The numbers are checked by an independent interpreter of the exported model.json that follows Keras/TF
semantics (NHWC, HWIO kernels, TF 'same'/'valid' padding, BN with the stored epsilon), written with torch
functional ops; it must reproduce the PyTorch model's probabilities. The jest parity test runs the same
artifact through TensorFlow.js itself.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ssclnet.export import SHARD_BYTES, export, sha256_file, verify_artifact
from ssclnet.parity import random_checkpoint
from ssclnet.preprocess import PreprocessSpec

INPUT = 32


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("ckpt") / "random.pt"
    random_checkpoint(p, input_size=INPUT, seed=3)
    return p


@pytest.fixture(scope="module")
def exported(ckpt, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "m"
    export(ckpt, out, "1.0.0")
    return out


@pytest.fixture(scope="module")
def unfolded(ckpt, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "plain"
    export(ckpt, out, "1.0.0", fold=False)
    return out


def read_weights(model_dir: Path) -> dict[str, np.ndarray]:
    mj = json.loads((model_dir / "model.json").read_text())
    (group,) = mj["weightsManifest"]
    data = b"".join((model_dir / p).read_bytes() for p in group["paths"])
    out, off = {}, 0
    for w in group["weights"]:
        n = math.prod(w["shape"])
        if w.get("quantization", {}).get("dtype") == "float16":
            a = np.frombuffer(data, "<f2", n, off).astype(np.float32)
            off += 2 * n
        else:
            a = np.frombuffer(data, "<f4", n, off)
            off += 4 * n
        out[w["name"]] = a.reshape(w["shape"])
    assert off == len(data), "manifest does not cover the shards exactly"
    return out


def tf_pad_same(x: torch.Tensor, k: int, s: int) -> torch.Tensor:
    """TF 'same': total padding split with the extra pixel at the bottom/right. x is NCHW."""
    h = x.shape[2]
    total = max((math.ceil(h / s) - 1) * s + k - h, 0)
    return F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))


def run_layers_model(model_dir: Path, x_nhwc: np.ndarray) -> np.ndarray:
    """Interpret model.json's functional graph the way Keras does (computed in NCHW internally)."""
    mj = json.loads((model_dir / "model.json").read_text())
    weights = {k: torch.from_numpy(v.astype(np.float64)) for k, v in read_weights(model_dir).items()}
    cfg = mj["modelTopology"]["config"]
    values: dict[str, torch.Tensor] = {}
    for layer in cfg["layers"]:
        cls, name, c = layer["class_name"], layer["name"], layer["config"]
        ins = [values[n[0]] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if cls == "InputLayer":
            y = torch.from_numpy(x_nhwc.astype(np.float64)).permute(0, 3, 1, 2)
        elif cls == "ZeroPadding2D":
            (top, bottom), (left, right) = c["padding"]
            y = F.pad(ins[0], (left, right, top, bottom))
        elif cls == "Conv2D":
            k, s = c["kernel_size"][0], c["strides"][0]
            x = tf_pad_same(ins[0], k, s) if c["padding"] == "same" else ins[0]
            kernel = weights[f"{name}/kernel"].permute(3, 2, 0, 1)  # HWIO -> OIHW
            y = F.conv2d(x, kernel, weights.get(f"{name}/bias") if c["use_bias"] else None, stride=s)
            if c["activation"] == "relu":
                y = F.relu(y)
            else:
                assert c["activation"] == "linear", c["activation"]
        elif cls == "BatchNormalization":
            g, b, m, v = (
                weights[f"{name}/{p}"].view(1, -1, 1, 1) for p in ("gamma", "beta", "moving_mean", "moving_variance")
            )
            y = (ins[0] - m) / torch.sqrt(v + c["epsilon"]) * g + b
        elif cls == "Activation":
            y = F.relu(ins[0]) if c["activation"] == "relu" else torch.softmax(ins[0], dim=1)
        elif cls == "MaxPooling2D":
            assert c["padding"] == "valid"
            y = F.max_pool2d(ins[0], c["pool_size"][0], c["strides"][0])
        elif cls == "Add":
            y = ins[0] + ins[1]
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(dim=(2, 3))
        elif cls == "Dense":
            y = ins[0] @ weights[f"{name}/kernel"] + weights[f"{name}/bias"]
        else:
            raise AssertionError(f"unexpected layer class {cls}")
        values[name] = y
    ((out_name, _, _),) = cfg["output_layers"]
    return values[out_name].numpy()


def test_files_shards_and_hashes(exported):
    card = json.loads((exported / "model-card.json").read_text())
    assert card["version"] == "1.0.0" and card["classes"] == ["glioma", "meningioma", "notumor", "pituitary"]
    assert card["preprocess"] == PreprocessSpec(input_size=INPUT).to_dict()
    assert card["input"]["shape"] == [None, INPUT, INPUT, 1]
    assert card["metrics"]["detail"] == "not measured" and card["metrics"]["accuracy"] is None
    for key in ("created", "intended_use", "limits", "training", "architecture", "dtype"):
        assert card[key]
    on_disk = {str(p.relative_to(exported)) for p in exported.rglob("*") if p.is_file()}
    assert on_disk == set(card["files"]) | {"model-card.json"}
    for name, digest in card["files"].items():
        assert sha256_file(exported / name) == digest
    shards = json.loads((exported / "model.json").read_text())["weightsManifest"][0]["paths"]
    assert all((exported / s).stat().st_size <= SHARD_BYTES for s in shards)
    assert len(shards) > 1 and shards[0] == f"group1-shard1of{len(shards)}.bin"
    assert verify_artifact(exported)["version"] == "1.0.0"


def test_exported_graph_reproduces_pytorch(exported, unfolded):
    for d in (exported, unfolded):
        expected = json.loads((d / "parity" / "expected.json").read_text())
        inputs = np.fromfile(d / "parity" / "inputs.bin", "<f4").reshape(expected["input_shape"])
        probs = run_layers_model(d, inputs)
        assert np.abs(probs - np.asarray(expected["probabilities"])).max() < 1e-5
        assert np.asarray(expected["probabilities"]).max() > 0.5  # not uniform: a wrong layer would show


def test_folded_graph_has_no_batchnorm_and_the_same_function(exported, unfolded):
    def layers(d):
        return json.loads((d / "model.json").read_text())["modelTopology"]["config"]["layers"]

    folded, plain = layers(exported), layers(unfolded)
    assert not [la for la in folded if la["class_name"] == "BatchNormalization"]
    assert len([la for la in plain if la["class_name"] == "BatchNormalization"]) == 20
    fused = [la["name"] for la in folded if la["class_name"] == "Conv2D" and la["config"]["activation"] == "relu"]
    assert len(fused) == 9 and "stem_conv" in fused  # the stem and each block's first conv
    names = {la["name"] for la in folded}
    assert {"avgpool", "logits", "probabilities", "layer3_1_out", "layer4_1_out"} <= names  # what the viewer reads
    a = json.loads((exported / "parity" / "expected.json").read_text())["probabilities"]
    b = json.loads((unfolded / "parity" / "expected.json").read_text())["probabilities"]
    assert np.abs(np.asarray(a) - np.asarray(b)).max() < 1e-5
    assert json.loads((exported / "model-card.json").read_text())["graph"].startswith("BatchNorm folded")


def test_float16_halves_size_and_stays_close(ckpt, tmp_path, exported):
    out = tmp_path / "half"
    card = export(ckpt, out, "1.0.0-f16", dtype="float16")
    assert card["dtype"] == "float16"

    def size(d):
        return sum(
            (d / f).stat().st_size for f in json.loads((d / "model.json").read_text())["weightsManifest"][0]["paths"]
        )

    assert size(out) * 2 == size(exported)
    expected = json.loads((out / "parity" / "expected.json").read_text())
    inputs = np.fromfile(out / "parity" / "inputs.bin", "<f4").reshape(expected["input_shape"])
    assert np.abs(run_layers_model(out, inputs) - np.asarray(expected["probabilities"])).max() < 2e-3


def test_refusals_leave_nothing_behind(ckpt, tmp_path, exported):
    with pytest.raises(SystemExit, match="already exists"):
        export(ckpt, exported, "1.0.1")
    with pytest.raises(SystemExit, match="version"):
        export(ckpt, tmp_path / "v", "../evil")
    bad = torch.load(ckpt, weights_only=True)
    bad["model"] = {k: v for k, v in bad["model"].items() if not k.startswith("classifier.")}
    torch.save(bad, tmp_path / "bad.pt")
    with pytest.raises(SystemExit, match="does not match"):
        export(tmp_path / "bad.pt", tmp_path / "out", "1.0.2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt"]


def test_metrics_and_parity_images_go_into_the_card(ckpt, tmp_path):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"split": "test", "accuracy": 0.91, "macro_f1": 0.9, "per_class": {}}))
    jpegs = sorted((Path(__file__).parents[1] / "fixtures" / "parity" / "jpeg").glob("*.jpg"))[:2]
    card = export(ckpt, tmp_path / "m", "2", metrics_path=metrics, parity_images=[str(p) for p in jpegs])
    assert (card["metrics"]["accuracy"], card["metrics"]["macro_f1"], card["metrics"]["split"]) == (0.91, 0.9, "test")
    expected = json.loads((tmp_path / "m" / "parity" / "expected.json").read_text())
    assert expected["sources"] == [p.name for p in jpegs]


def test_verify_artifact_detects_tampering(exported, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    shard = next(copy.glob("group1-*.bin"))
    data = bytearray(shard.read_bytes())
    data[0] ^= 1
    shard.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"SHA-256 mismatch for {shard.name}"):
        verify_artifact(copy)


# ---- card_format 2: the feature gate and calibration (issue 15) ----


def _fake_gate(tmp_path: Path, classes=("glioma", "meningioma", "notumor", "pituitary"), seed=0) -> Path:
    """A gate folder as `ssclnet fit-gate` writes it, with random Gaussians (the maths is tested in test_ood)."""
    from ssclnet.ood import Gaussians

    rng = np.random.default_rng(seed)
    a = rng.normal(size=(512, 512)) / 40
    g = Gaussians(np.abs(rng.normal(size=(len(classes), 512))), a @ a.T + np.eye(512))
    d = tmp_path / "gate"
    d.mkdir()
    g.write(d / "gaussians.bin")
    gate = {
        "calibration": {
            "method": "temperature",
            "temperature": 1.7,
            "fitted_on": "val",
            "ece_before": 0.05,
            "ece_after": 0.02,
            "bins": 15,
            "ece_measured_on": "test",
        },
        "features": {
            "method": "mahalanobis-tied",
            "layer": "avgpool",
            "dim": 512,
            "file": "ood/gaussians.bin",
            "layout": "float32",
            "score": "min over classes",
            "threshold": 123.0,
            "fitted_on": "train",
            "shrinkage": 0.1,
            "threshold_set_on": "val",
            "in_range_rate_val": 0.97,
            "target_in_range": 0.97,
            "reference": "Lee et al. 2018",
        },
        "summary": {"classes": list(classes), "test_in_range_rate": 0.98},
    }
    (d / "gate.json").write_text(json.dumps(gate))
    return d


def test_gate_goes_into_the_card_and_is_hashed(ckpt, tmp_path):
    from ssclnet.ood import Gaussians

    gate_dir = _fake_gate(tmp_path)
    card = export(
        ckpt,
        tmp_path / "m",
        "g1",
        dtype="float16",
        gate_dir=gate_dir,
        parity_images=[
            str(p) for p in sorted((Path(__file__).parents[1] / "fixtures" / "parity" / "jpeg").glob("*.jpg"))
        ],
    )
    m = tmp_path / "m"
    assert card["card_format"] == 2
    assert card["calibration"]["method"] == "temperature" and card["calibration"]["temperature"] == 1.7
    assert card["calibration"]["bins"] == 15 and card["calibration"]["ece_after"] == 0.02
    f = card["in_range"]["features"]
    assert (f["method"], f["layer"], f["dim"], f["file"], f["threshold"]) == (
        "mahalanobis-tied",
        "avgpool",
        512,
        "ood/gaussians.bin",
        123.0,
    )
    assert f["target_in_range"] == 0.97 and "in_range_rate_val" in f
    # the card's last limit states this model's calibration, not a figure of an earlier one
    assert "T = 1.7" in card["limits"][-1] and "ECE after calibration 0.020 on the test" in card["limits"][-1]
    assert not any("40 labeled" in lim or "T >= 1" in lim for lim in card["limits"])
    meta = card["in_range"]["metadata"]
    assert meta["modalities"] == ["MR"] and meta["max_angle_from_axial_deg"] == 30
    assert "LOCALIZER" in meta["reject_image_types"] and meta["photometric"] == ["MONOCHROME1", "MONOCHROME2"]
    # the Gaussians file is in the artifact, byte for byte, and covered by the card's SHA-256
    assert (m / "ood" / "gaussians.bin").read_bytes() == (gate_dir / "gaussians.bin").read_bytes()
    assert card["files"]["ood/gaussians.bin"] == sha256_file(m / "ood" / "gaussians.bin")
    assert verify_artifact(m)["card_format"] == 2
    data = bytearray((m / "ood" / "gaussians.bin").read_bytes())
    data[-1] ^= 1
    (m / "ood" / "gaussians.bin").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"SHA-256 mismatch for ood/gaussians\.bin"):
        verify_artifact(m)

    # parity vectors: per input the gate score (from the features) and the calibrated probabilities
    exp = json.loads((m / "parity" / "expected.json").read_text())
    n = exp["count"]
    assert len(exp["score"]) == len(exp["calibrated_probabilities"]) == len(exp["in_range"]) == n
    logits = np.asarray(exp["logits"])
    z = logits / 1.7
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    assert np.allclose(exp["calibrated_probabilities"], want, atol=1e-9)
    from ssclnet.export import build_model, load_checkpoint

    c = load_checkpoint(ckpt)
    model = build_model(c, PreprocessSpec.from_dict(c["preprocess"]))
    x = np.frombuffer((m / "parity" / "inputs.bin").read_bytes(), "<f4").reshape(n, INPUT, INPUT, 1)
    with torch.no_grad():
        feats = model.encoder(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).double().numpy()
    g = Gaussians.read(gate_dir / "gaussians.bin", 4, 512)
    assert np.allclose(exp["score"], g.scores(feats), rtol=1e-6)
    assert exp["in_range"] == [bool(s <= 123.0) for s in exp["score"]]


def test_export_without_gate_stays_card_format_1(exported):
    card = json.loads((exported / "model-card.json").read_text())
    assert card["card_format"] == 1 and "in_range" not in card and "calibration" not in card
    assert "ood/gaussians.bin" not in card["files"]
    assert "score" not in json.loads((exported / "parity" / "expected.json").read_text())


def test_gate_for_other_classes_is_refused(ckpt, tmp_path):
    gate_dir = _fake_gate(tmp_path, classes=("a", "b", "c", "d"))
    with pytest.raises(SystemExit, match="fitted for classes"):
        export(ckpt, tmp_path / "m", "g2", gate_dir=gate_dir)
    assert not (tmp_path / "m").exists()
