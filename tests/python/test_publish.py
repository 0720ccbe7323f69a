"""`ssclnet publish`: copy a verified version into the registry, refuse overwrites, roll back, refuse tampering."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ssclnet.cli import main
from ssclnet.export import export, sha256_file
from ssclnet.parity import random_checkpoint


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    random_checkpoint(d / "r.pt", input_size=32)
    for v in ("a1", "a2"):
        export(d / "r.pt", d / v, v)
    return {v: d / v for v in ("a1", "a2")}


def index(reg: Path) -> dict:
    return json.loads((reg / "models.json").read_text())


def test_publish_refuse_overwrite_and_rollback(models, tmp_path, capsys):
    reg = tmp_path / "registry"
    assert main(["publish", "--registry", str(reg), "--model", str(models["a1"])]) == 0
    assert main(["publish", "--registry", str(reg), "--model", str(models["a2"])]) == 0
    idx = index(reg)
    assert idx["latest"] == "a2" and [v["version"] for v in idx["versions"]] == ["a1", "a2"]
    for v in idx["versions"]:
        assert v["card_sha256"] == sha256_file(reg / v["path"] / "model-card.json")
        assert set(v["metrics"]) == {"accuracy", "macro_f1"} and v["dtype"] == "float32"
    assert sorted(p.name for p in (reg / "a1").iterdir()) == sorted(p.name for p in models["a1"].iterdir())

    before = (reg / "models.json").read_bytes()
    assert main(["publish", "--registry", str(reg), "--model", str(models["a1"])]) == 2
    assert "already published" in capsys.readouterr().err
    assert (reg / "models.json").read_bytes() == before

    assert main(["publish", "--registry", str(reg), "--rollback", "a1"]) == 0
    assert index(reg)["latest"] == "a1" and len(index(reg)["versions"]) == 2
    assert main(["publish", "--registry", str(reg), "--rollback", "zz"]) == 2
    assert "not published" in capsys.readouterr().err
    assert index(reg)["latest"] == "a1"
    assert not [p for p in reg.iterdir() if p.name.startswith(".") and p.name != ".lock"]


def test_tampered_model_is_not_published(models, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(models["a1"], bad)
    shard = next(bad.glob("group1-*.bin"))
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    reg = tmp_path / "registry"
    assert main(["publish", "--registry", str(reg), "--model", str(bad)]) == 2
    assert "SHA-256 mismatch" in capsys.readouterr().err
    assert not (reg / "a1").exists() and not (reg / "models.json").exists()
