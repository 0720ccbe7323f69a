"""`ssclnet publish`: copy a verified version into the registry, refuse overwrites, roll back, refuse tampering."""

from __future__ import annotations

import hashlib
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


# --- issue 17 items 2, 4, 12: card file names, version strings, malformed cards and indexes ------------------


def _card(folder: Path) -> dict:
    return json.loads((folder / "model-card.json").read_text())


def _write_card(folder: Path, card) -> None:
    (folder / "model-card.json").write_text(json.dumps(card))


def _everything(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize(
    "name",
    [
        "../evil.html",  # the case: outside the version folder
        "parity/../../evil.html",
        "group1-shard1of1.bin/../../evil.html",
        "ABSOLUTE",  # replaced below by an absolute path under tmp_path
        "parity\\..\\..\\evil.bin",
        "..\\evil.bin",
        "./model.json.bin",
        "parity//x.bin",
        ".hidden.bin",
        "parity/.x.bin",
        "evil.html",  # inside the folder, but not a file of the format
        "parity/evil.html",
        "ood/gaussians.html",
        "model.json.html",
        "C:evil.bin",
        "parity/\u2024\u2024/x.bin",  # one-dot leaders look like '..'
        "parity/x.bin\x00.html",
    ],
)
def test_card_file_names_must_stay_inside_the_version_folder(models, tmp_path, capsys, name):
    src = tmp_path / "m"
    shutil.copytree(models["a1"], src)
    payload = b"<script>alert(document.domain)</script>"
    if name == "ABSOLUTE":
        name = str(tmp_path / "abs-evil.html")
    target = Path(name) if name.startswith("/") else src / name.replace("\\", "/")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
    except (OSError, ValueError):
        pass  # names the file system refuses: the card still lists them
    card = _card(src)
    card["files"][name] = hashlib.sha256(payload).hexdigest()
    _write_card(src, card)
    reg = tmp_path / "registry"
    reg.mkdir()
    before = _everything(tmp_path)
    assert main(["publish", "--registry", str(reg), "--model", str(src)]) == 2
    err = capsys.readouterr().err
    assert "refusing to publish" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _everything(tmp_path) == before  # nothing written anywhere (registry included)


def test_allowed_names_publish_including_ood_files(models, tmp_path):
    src = tmp_path / "m"
    shutil.copytree(models["a1"], src)
    (src / "ood").mkdir()
    (src / "ood" / "gaussians.bin").write_bytes(b"\0" * 16)
    card = _card(src)
    card["files"]["ood/gaussians.bin"] = sha256_file(src / "ood" / "gaussians.bin")
    _write_card(src, card)
    reg = tmp_path / "registry"
    assert main(["publish", "--registry", str(reg), "--model", str(src)]) == 0
    assert (reg / "a1" / "ood" / "gaussians.bin").read_bytes() == b"\0" * 16


def test_version_with_trailing_newline_is_refused(models, tmp_path, capsys):
    with pytest.raises(SystemExit, match="version"):
        export(models["a1"].parent / "r.pt", tmp_path / "nl", "v1\n")
    assert not (tmp_path / "nl").exists()
    src = tmp_path / "m"
    shutil.copytree(models["a1"], src)
    card = _card(src)
    card["version"] = "a1\n"
    _write_card(src, card)
    reg = tmp_path / "registry"
    assert main(["publish", "--registry", str(reg), "--model", str(src)]) == 2
    assert "not a valid folder name" in capsys.readouterr().err
    assert not reg.exists() or not any(p.name.startswith("a1") for p in reg.iterdir())
    assert main(["publish", "--registry", str(reg), "--model", str(models["a1"])]) == 0
    assert main(["publish", "--registry", str(reg), "--rollback", "a1\n"]) == 2


@pytest.mark.parametrize(
    "card, why",
    [
        ([1, 2, 3], "must be a JSON object"),
        ("a string", "must be a JSON object"),
        ({"version": "a1", "files": ["model.json"]}, "'files' must be an object"),
        ({"version": "a1"}, "'files' must be an object"),
        ({"version": 7, "files": "FILES"}, "not a valid folder name"),
        ({"version": "a1", "files": "FILES", "x": 1}, None),  # shape fine; digest of a listed file replaced below
        (None, "not valid JSON"),
    ],
)
def test_malformed_cards_are_refused_in_one_line(models, tmp_path, capsys, card, why):
    src = tmp_path / "m"
    shutil.copytree(models["a1"], src)
    good = _card(src)
    if card is None:
        (src / "model-card.json").write_text("{not json")
    else:
        if isinstance(card, dict) and card.get("files") == "FILES":
            card["files"] = dict(good["files"])
        if why is None:
            card["files"]["model.json"] = "not-a-digest"
            why = "not a SHA-256 hex digest"
        _write_card(src, card)
    reg = tmp_path / "registry"
    assert main(["publish", "--registry", str(reg), "--model", str(src)]) == 2
    err = capsys.readouterr().err
    assert why in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("index", ["[]", '"x"', '{"versions": {"a": 1}}', '{"versions": [1]}'])
def test_malformed_index_is_refused_in_one_line(models, tmp_path, capsys, index):
    reg = tmp_path / "registry"
    reg.mkdir()
    (reg / "models.json").write_text(index)
    assert main(["publish", "--registry", str(reg), "--model", str(models["a1"])]) == 2
    assert main(["publish", "--registry", str(reg), "--rollback", "a1"]) == 2
    err = capsys.readouterr().err
    assert "fix it by hand" in err and "Traceback" not in err
    assert (reg / "models.json").read_text() == index and not (reg / "a1").exists()
