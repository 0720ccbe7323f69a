"""The model shipped in models/ (the demo's default): every file matches its card, and the card says how it was
really trained (input size, pretraining epochs, hardware) and what it scored on the dev test split."""

from __future__ import annotations

import json
from pathlib import Path

from ssclnet.export import verify_artifact

REGISTRY = Path(__file__).resolve().parents[2] / "models"


def test_shipped_model_is_intact_and_its_card_is_honest():
    latest = json.loads((REGISTRY / "models.json").read_text())["latest"]
    card = verify_artifact(REGISTRY / latest)
    assert card["version"] == latest
    assert card["dtype"] == "float16"
    assert card["classes"] == ["glioma", "meningioma", "notumor", "pituitary"]
    training = card["training"]
    assert training["input_size"] == card["preprocess"]["input_size"] == card["input"]["size"]
    assert "hardware" in training and training["hardware"] != "not recorded"
    pre = training["pretraining"]
    if isinstance(pre, dict):  # an SSL encoder: its real epochs and input size, not the protocol's
        assert pre["epochs_run"] >= 1 and pre["input_size"] >= 32
    metrics = card["metrics"]
    assert metrics["split"] == "test" and metrics["detail"]["n"] > 500
    assert 0.25 < metrics["accuracy"] <= 1 and 0 < metrics["macro_f1"] <= 1
