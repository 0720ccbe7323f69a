"""The model registry an admin serves to viewers: a static folder of immutable version folders plus an index.

  REGISTRY/
    models.json          {"latest": "<version>", "versions": [{version, created, card_sha256, dtype,
                          metrics: {accuracy, macro_f1}, path, published}], "updated": ...}
    <version>/           a copy of an exported model folder (model-card.json, model.json, shards, parity/)

`publish` verifies the model folder's hashes, copies it under a temporary name and renames it into place, then
rewrites models.json through a temporary file and `os.replace`, so a viewer never sees half a version or half
an index. A version is never overwritten. `rollback` only moves `latest`. An advisory lock serialises admins.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .export import CARD_NAME, VERSION_RE, headline_metrics, sha256_file, verify_artifact

INDEX_NAME = "models.json"


class RegistryError(ValueError):
    pass


@contextlib.contextmanager
def _locked(registry: Path) -> Iterator[None]:
    registry.mkdir(parents=True, exist_ok=True)
    with open(registry / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_index(registry: str | Path) -> dict[str, Any]:
    p = Path(registry) / INDEX_NAME
    if not p.is_file():
        return {"latest": None, "versions": []}
    try:
        index = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise RegistryError(f"{p} is not valid JSON ({e}); fix it by hand before publishing") from e
    index.setdefault("versions", [])
    return index


def _write_index(registry: Path, index: dict[str, Any]) -> None:
    index["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    fd, tmp = tempfile.mkstemp(prefix=f".{INDEX_NAME}.", dir=registry)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(index, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, registry / INDEX_NAME)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def publish(registry: str | Path, model_dir: str | Path, make_latest: bool = True) -> dict[str, Any]:
    """Copy a verified model folder to REGISTRY/<version>/ and list it (as latest unless told otherwise)."""
    reg, src = Path(registry), Path(model_dir)
    try:
        card = verify_artifact(src)
    except ValueError as e:
        raise RegistryError(f"refusing to publish: {e}") from e
    version = str(card.get("version", ""))
    if not VERSION_RE.match(version):
        raise RegistryError(f"refusing to publish: card version {version!r} is not a valid folder name")
    with _locked(reg):
        index = read_index(reg)
        target = reg / version
        if target.exists() or any(v["version"] == version for v in index["versions"]):
            raise RegistryError(f"version {version} is already published in {reg}; export under a new version")
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=reg))
        try:
            for name in [CARD_NAME, *card["files"]]:
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / name, tmp / name)
            verify_artifact(tmp)  # the copy, not just the source
            os.chmod(tmp, 0o755)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        entry = {
            "version": version,
            "path": version,
            "created": card.get("created"),
            "published": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "card_sha256": sha256_file(target / CARD_NAME),
            "dtype": card.get("dtype"),
            "metrics": headline_metrics(card.get("metrics") or {}),
        }
        index["versions"].append(entry)
        if make_latest or not index.get("latest"):
            index["latest"] = version
        _write_index(reg, index)
    return index


def rollback(registry: str | Path, version: str) -> dict[str, Any]:
    """Point `latest` at an already published version."""
    reg = Path(registry)
    with _locked(reg):
        index = read_index(reg)
        known = [v["version"] for v in index["versions"]]
        if version not in known:
            raise RegistryError(f"version {version} is not published in {reg} (known: {', '.join(known) or 'none'})")
        if not (reg / version / CARD_NAME).is_file():
            raise RegistryError(f"{reg / version} is missing its files; refusing to point latest at it")
        index["latest"] = version
        _write_index(reg, index)
    return index
