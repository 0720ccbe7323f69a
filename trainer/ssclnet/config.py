"""Optional YAML config for any subcommand: `--config run.yaml`, whose keys are the long flag names
(`batch-size` or `batch_size`). Flags given on the command line override the file."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML file of option values (keys = flag names); command-line flags override it",
    )
    p.set_defaults(_parser=p)


def load_config(path: Path, parser: argparse.ArgumentParser) -> dict:
    """The file's values as argparse defaults for `parser`; unknown keys are an error, not silently dropped."""
    import yaml

    if not path.is_file():
        raise SystemExit(f"--config {path}: no such file")
    with open(path) as f:
        values = yaml.safe_load(f) or {}
    if not isinstance(values, dict):
        raise SystemExit(f"--config {path}: expected a mapping of flag names to values")
    dests = {a.dest for a in parser._actions}
    out, unknown = {}, []
    for key, value in values.items():
        dest = str(key).lstrip("-").replace("-", "_")
        if dest not in dests or dest in ("config", "help"):
            unknown.append(key)
        out[dest] = value
    if unknown:
        raise SystemExit(f"--config {path}: unknown option(s) {unknown} for `{parser.prog}`")
    return out
