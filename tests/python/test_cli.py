"""The `ssclnet` command line: help for every subcommand, a YAML config with flags overriding it, and the
CLI path of pretrain / finetune / evaluate / benchmark on the fixture."""

import json
import subprocess
import sys

import pytest
from conftest import FIXTURE

from ssclnet.cli import build_parser, main

MANIFEST = str(FIXTURE / "manifest.csv")


def test_top_level_help_lists_commands():
    assert {"pretrain", "finetune", "evaluate", "benchmark"} <= set(
        build_parser()._subparsers._group_actions[0].choices
    )
    out = subprocess.run([sys.executable, "-m", "ssclnet.cli", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("pretrain", "finetune", "evaluate", "benchmark"):
        assert cmd in out.stdout


@pytest.mark.parametrize("cmd", ["pretrain", "finetune", "evaluate", "benchmark"])
def test_subcommand_help(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    assert "--config" in capsys.readouterr().out


def test_yaml_config_sets_defaults_and_flags_win(tmp_path, monkeypatch):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("epochs: 7\nbatch-size: 32\ntemperature: 0.2\n")
    seen = {}
    monkeypatch.setattr("ssclnet.commands.pretrain.run", lambda args: seen.update(vars(args)) or 0)
    # cli.main builds its own parser; patching the module-level run makes set_defaults(func=run) pick it up.
    main(["pretrain", "--config", str(cfg), "--batch-size", "8", "--data", MANIFEST])
    assert seen["epochs"] == 7 and seen["temperature"] == 0.2 and seen["batch_size"] == 8
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochz: 3\n")
    with pytest.raises(SystemExit, match="unknown option"):
        main(["pretrain", "--config", str(bad)])


def test_cli_end_to_end(tmp_path, capsys):
    pt, ft, ev = tmp_path / "pt", tmp_path / "ft", tmp_path / "ev"
    assert (
        main(
            [
                "pretrain",
                "--data",
                MANIFEST,
                "--split",
                "val",
                "--out",
                str(pt),
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "--image-size",
                "32",
                "--monitor-every",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert (pt / "last.pt").is_file() and any((pt / "tb").iterdir())
    assert (
        main(
            [
                "finetune",
                "--data",
                MANIFEST,
                "--init",
                str(pt / "last.pt"),
                "--out",
                str(ft),
                "--epochs",
                "1",
                "--train-split",
                "val",
                "--val-split",
                "test",
                "--batch-size",
                "16",
                "--quiet",
                "--no-tensorboard",
            ]
        )
        == 0
    )
    assert main(["evaluate", "--checkpoint", str(ft / "best.pt"), "--data", MANIFEST, "--out", str(ev)]) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "confusion matrix" in printed
    metrics = json.loads((ev / "metrics.json").read_text())
    assert metrics["n"] == 16 and metrics["split"] == "test"
    assert (ev / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_benchmark_prints_figures(capsys):
    assert (
        main(
            [
                "benchmark",
                "--batch-size",
                "4",
                "--image-size",
                "32",
                "--steps",
                "1",
                "--warmup",
                "1",
                "--device",
                "cpu",
                "--json",
            ]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["pairs_per_s"] > 0 and 0 <= r["data_fraction"] <= 1 and r["peak_rss_gib"] > 0


def test_missing_data_is_a_clear_error():
    with pytest.raises(SystemExit, match="--data is required"):
        main(["pretrain", "--epochs", "1"])
    with pytest.raises(SystemExit, match="--checkpoint and --data"):
        main(["evaluate"])
