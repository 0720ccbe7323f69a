"""`ssclnet.import_tfjs`: exported tfjs LayersModel -> Classifier state dict, the export's exact inverse, checked
on a random checkpoint (float32 and float16) and on the shipped model's own parity vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ssclnet.export import export
from ssclnet.import_tfjs import check_parity, import_artifact, main
from ssclnet.model import Classifier
from ssclnet.parity import random_checkpoint
from ssclnet.tfjs_layers import fold_batchnorm_

ROOT = Path(__file__).resolve().parents[2]
JPEGS = sorted(str(p) for p in (ROOT / "tests" / "fixtures" / "parity" / "jpeg").glob("*.jpg"))
SHIPPED = ROOT / "models" / "2026.11.23-2"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("ckpt") / "random.pt"
    random_checkpoint(p, input_size=32, seed=5)
    return p


@pytest.mark.parametrize("fold", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_round_trip(ckpt, tmp_path, dtype, fold):
    out = tmp_path / "m"
    export(ckpt, out, "rt-1", dtype=dtype, parity_images=JPEGS, fold=fold)
    src = torch.load(ckpt, weights_only=False)["model"]
    if fold:  # what a folded artifact stores: each conv scaled by its BatchNorm, the BatchNorm an identity + bias
        model = Classifier(4)
        model.load_state_dict(src)
        src = fold_batchnorm_(model).state_dict()
    back = import_artifact(out)
    assert set(back["model"]) == set(src)
    for k, v in src.items():
        if k.endswith("num_batches_tracked"):
            continue
        w = back["model"][k]
        assert w.shape == v.shape, k
        # A folded artifact stores no BatchNorm scale or statistics: the import sets them (identity), unrounded.
        bn_rebuilt = fold and (
            k.endswith(("running_mean", "running_var"))
            or (k.endswith(".weight") and (".bn" in k or "downsample.1" in k))
        )
        if dtype == "float32" or bn_rebuilt:
            assert torch.equal(w, v.float()), k
        else:
            assert torch.equal(w, v.float().half().float()), k  # exactly the float16 rounding
    p = check_parity(out, back)
    assert p["max_abs_prob"] <= (1e-5 if dtype == "float32" else 2e-3)
    assert back["classes"] == ["glioma", "meningioma", "notumor", "pituitary"]
    assert back["preprocess"]["input_size"] == 32


def test_cli_writes_a_checkpoint_finetune_and_evaluate_accept(ckpt, tmp_path):
    from ssclnet.evaluation import load_classifier

    out = tmp_path / "m"
    export(ckpt, out, "rt-2", dtype="float16")
    assert main([str(out), "--out", str(tmp_path / "imported.pt")]) == 0
    *_, c = load_classifier(tmp_path / "imported.pt")
    assert c["imported_from"]["version"] == "rt-2" and c["imported_from"]["parity"]["max_abs_prob"] < 2e-3


def test_tampered_weights_fail_the_parity_check(ckpt, tmp_path):
    out = tmp_path / "m"
    export(ckpt, out, "rt-3", dtype="float32")
    back = import_artifact(out)
    back["model"]["classifier.bias"][0] += 1.0  # one class only: a shift of all logits would not change p
    with pytest.raises(ValueError, match="parity"):
        check_parity(out, back)


@pytest.mark.skipif(not (SHIPPED / "model-card.json").is_file(), reason="shipped model not present")
def test_shipped_model_reproduces_its_parity_vectors():
    back = import_artifact(SHIPPED)
    p = check_parity(SHIPPED, back)
    exp = json.loads((SHIPPED / "parity" / "expected.json").read_text())
    assert p["inputs"] == exp["count"] == 6
    assert p["max_abs_prob"] <= 2e-3 and p["max_abs_logit"] < 2e-2
