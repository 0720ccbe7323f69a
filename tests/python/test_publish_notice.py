"""`ssclnet publish --notice TEXT` and `--withdraw VERSION --reason TEXT` (issue 18): the registry carries the
administrator's message and withdrawn versions; viewers show the one and never load the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssclnet.cli import main
from ssclnet.export import export
from ssclnet.parity import random_checkpoint


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    random_checkpoint(d / "r.pt", input_size=32)
    for v in ("b1", "b2"):
        export(d / "r.pt", d / v, v)
    return {v: d / v for v in ("b1", "b2")}


def index(reg: Path) -> dict:
    return json.loads((reg / "models.json").read_text())


def test_notice_and_withdraw(models, tmp_path, capsys):
    reg = tmp_path / "registry"
    assert main(["publish", "--registry", str(reg), "--notice", "hello"]) == 2  # nothing published yet
    assert "no published version" in capsys.readouterr().err
    for v in ("b1", "b2"):
        assert main(["publish", "--registry", str(reg), "--model", str(models[v])]) == 0

    # The latest version can't be withdrawn; roll back and withdraw in one call, with a notice.
    assert main(["publish", "--registry", str(reg), "--withdraw", "b2", "--reason", "bad calibration"]) == 2
    assert "is latest" in capsys.readouterr().err
    assert "withdrawn" not in json.dumps(index(reg))
    assert (
        main(
            [
                "publish",
                "--registry",
                str(reg),
                "--rollback",
                "b1",
                "--withdraw",
                "b2",
                "--reason",
                "bad  calibration",
                "--notice",
                "b2 mislabels meningiomas; back to b1",
            ]
        )
        == 0
    )
    idx = index(reg)
    assert idx["latest"] == "b1"
    assert idx["notice"] == "b2 mislabels meningiomas; back to b1"
    b2 = next(v for v in idx["versions"] if v["version"] == "b2")
    assert b2["withdrawn"] is True and b2["withdrawn_reason"] == "bad calibration" and b2["withdrawn_at"]
    assert (reg / "b2" / "model-card.json").is_file()  # files stay for the record

    # A withdrawn version can't become latest again.
    assert main(["publish", "--registry", str(reg), "--rollback", "b2"]) == 2
    assert "withdrawn (bad calibration)" in capsys.readouterr().err
    assert index(reg)["latest"] == "b1"

    # Errors: unknown version, no reason, a reason without --withdraw, nothing to do; the notice can be removed.
    assert main(["publish", "--registry", str(reg), "--withdraw", "zz", "--reason", "x"]) == 2
    assert "not published" in capsys.readouterr().err
    assert main(["publish", "--registry", str(reg), "--withdraw", "b1"]) == 2
    assert main(["publish", "--registry", str(reg), "--reason", "x"]) == 2
    assert main(["publish", "--registry", str(reg)]) == 2
    assert main(["publish", "--registry", str(reg), "--notice", "x" * 501]) == 2
    assert main(["publish", "--registry", str(reg), "--notice", ""]) == 0
    assert "notice" not in index(reg)
    assert not [p for p in reg.iterdir() if p.name.startswith(".") and p.name != ".lock"]
