"""The model registry an admin serves to viewers: a static folder of immutable version folders plus an index.

  REGISTRY/
    models.json          {"latest": "<version>", "versions": [{version, created, card_sha256, dtype,
                          metrics: {accuracy, macro_f1}, path, published[, withdrawn, withdrawn_reason]}],
                          "updated": ...[, "notice": "<the admin's message to viewers>"]}
    <version>/           a copy of an exported model folder (model-card.json, model.json, shards, parity/)

`publish` verifies the model folder's hashes, copies it under a temporary name and renames it into place, then
rewrites models.json through a temporary file and `os.replace`, so a viewer never sees half a version or half
an index. A version is never overwritten. `rollback` only moves `latest`. `set_notice` sets (or clears) the message
viewers show; `withdraw` marks a version withdrawn (viewers never load it; its files stay for the record). An
advisory lock serialises admins.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes
from .export import CARD_NAME, VERSION_RE, headline_metrics, sha256_file, verify_artifact

INDEX_NAME = "models.json"

# The only files a model folder may hold (besides the card): what the TensorFlow.js format and the card's
# parity and out-of-range checks need. Names are relative, '/'-separated, and plain ASCII.
ALLOWED_FILES = (
    re.compile(r"model\.json"),
    re.compile(r"group\d{1,4}-shard\d{1,4}of\d{1,4}\.bin"),
    re.compile(r"parity/[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.(?:json|bin)"),
    re.compile(r"ood/[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.bin"),
)
SHA256_RE = re.compile(r"[0-9a-f]{64}")


class RegistryError(ValueError):
    pass


def check_file_name(name: object) -> str:
    """A card `files` name, if it is a normalised relative name of a kind the format needs; else RegistryError.

    Refused: non-strings, absolute paths, backslashes, empty/'.'/'..' segments, hidden (dot) names, anything
    outside [A-Za-z0-9._-/] (drive letters, NUL, Unicode look-alikes), and any other kind of file (.html, ...).
    """
    if not isinstance(name, str) or not name:
        raise RegistryError(f"card 'files' has a name that is not a string: {name!r}")
    parts = name.split("/")
    if (
        name.startswith("/")
        or "\\" in name
        or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
        or not re.fullmatch(r"[A-Za-z0-9._/-]+", name)
    ):
        raise RegistryError(f"card 'files' names {name!r}: not a plain relative path inside the model folder")
    if not any(rx.fullmatch(name) for rx in ALLOWED_FILES):
        raise RegistryError(
            f"card 'files' names {name!r}: not a file of the model format "
            "(model.json, group*-shard*of*.bin, parity/*.json|bin, ood/*.bin)"
        )
    return name


def check_card(model_dir: Path) -> dict[str, Any]:
    """The card of a model folder, checked for shape and file names before any file is read or copied."""
    card_path = model_dir / CARD_NAME
    if not card_path.is_file():
        raise RegistryError(f"refusing to publish: {model_dir}: no {CARD_NAME}; not an exported model directory")
    try:
        card = json.loads(card_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RegistryError(f"refusing to publish: {card_path} is not valid JSON ({e})") from e
    if not isinstance(card, dict):
        raise RegistryError(f"refusing to publish: {card_path} must be a JSON object, not {type(card).__name__}")
    files = card.get("files")
    if not isinstance(files, dict) or "model.json" not in files:
        raise RegistryError(f"refusing to publish: {card_path}: 'files' must be an object listing model.json")
    for name, digest in files.items():
        try:
            check_file_name(name)
        except RegistryError as e:
            raise RegistryError(f"refusing to publish: {e}") from None
        if not isinstance(digest, str) or not SHA256_RE.fullmatch(digest):
            raise RegistryError(f"refusing to publish: card 'files' entry {name!r} is not a SHA-256 hex digest")
        p = model_dir / name
        if p.is_symlink():
            raise RegistryError(f"refusing to publish: {p} is a symbolic link; publish plain files")
    version = card.get("version")
    if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
        raise RegistryError(
            f"refusing to publish: card version {version!r} is not a valid folder name "
            "(1-64 of [A-Za-z0-9._-], starting with a letter or digit)"
        )
    return card


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
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RegistryError(f"{p} is not valid JSON ({e}); fix it by hand before publishing") from e
    if not isinstance(index, dict):
        raise RegistryError(f"{p} must be a JSON object, not {type(index).__name__}; fix it by hand before publishing")
    index.setdefault("versions", [])
    versions = index["versions"]
    if not isinstance(versions, list) or not all(
        isinstance(v, dict) and isinstance(v.get("version"), str) for v in versions
    ):
        raise RegistryError(f"{p}: 'versions' must be a list of objects with a 'version'; fix it by hand")
    return index


def _write_index(registry: Path, index: dict[str, Any]) -> None:
    index["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    atomic_write_bytes(registry / INDEX_NAME, (json.dumps(index, indent=2) + "\n").encode())


def publish(registry: str | Path, model_dir: str | Path, make_latest: bool = True) -> dict[str, Any]:
    """Copy a verified model folder to REGISTRY/<version>/ and list it (as latest unless told otherwise)."""
    reg, src = Path(registry), Path(model_dir)
    card = check_card(src)  # names and shape first: nothing outside the folder is read, hashed or copied
    try:
        verified = verify_artifact(src)
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        raise RegistryError(f"refusing to publish: {e}") from e
    if verified != card:
        raise RegistryError(f"refusing to publish: {src / CARD_NAME} changed while it was being checked")
    version = card["version"]
    with _locked(reg):
        index = read_index(reg)
        target = reg / version
        if target.exists() or any(v["version"] == version for v in index["versions"]):
            raise RegistryError(f"version {version} is already published in {reg}; export under a new version")
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=reg))
        try:
            for name in [CARD_NAME, *card["files"]]:
                dst = (tmp / name).resolve()
                if tmp.resolve() not in dst.parents:  # (check_file_name already ensures this)
                    raise RegistryError(f"refusing to publish: {name!r} would be written outside the version folder")
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / name, dst)
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
    if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
        raise RegistryError(
            f"{version!r} is not a version name (1-64 of [A-Za-z0-9._-], starting with a letter or digit)"
        )
    with _locked(reg):
        index = read_index(reg)
        known = [v["version"] for v in index["versions"]]
        if version not in known:
            raise RegistryError(f"version {version} is not published in {reg} (known: {', '.join(known) or 'none'})")
        if not (reg / version / CARD_NAME).is_file():
            raise RegistryError(f"{reg / version} is missing its files; refusing to point latest at it")
        entry = next(v for v in index["versions"] if v["version"] == version)
        if entry.get("withdrawn"):
            raise RegistryError(
                f"version {version} is withdrawn ({entry.get('withdrawn_reason') or 'no reason given'}); "
                "refusing to point latest at it"
            )
        index["latest"] = version
        _write_index(reg, index)
    return index


MAX_NOTICE = 500


def _check_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise RegistryError(f"{what} must be text")
    text = " ".join(text.split())
    if len(text) > MAX_NOTICE:
        raise RegistryError(f"{what} is {len(text)} characters; at most {MAX_NOTICE}")
    return text


def set_notice(registry: str | Path, text: str) -> dict[str, Any]:
    """Set the administrator's notice viewers show (e.g. why `latest` changed); an empty text removes it."""
    reg = Path(registry)
    text = _check_text(text, "the notice")
    with _locked(reg):
        index = read_index(reg)
        if not index["versions"]:
            raise RegistryError(f"{reg} has no published version; publish one first")
        if text:
            index["notice"] = text
        else:
            index.pop("notice", None)
        _write_index(reg, index)
    return index


def withdraw(registry: str | Path, version: str, reason: str) -> dict[str, Any]:
    """Mark a published version withdrawn: viewers refuse to load it. `latest` must point elsewhere first."""
    reg = Path(registry)
    reason = _check_text(reason, "the reason")
    if not reason:
        raise RegistryError("a withdrawal needs a reason (--reason TEXT): viewers show it")
    with _locked(reg):
        index = read_index(reg)
        entry = next((v for v in index["versions"] if v["version"] == version), None)
        if entry is None:
            known = ", ".join(v["version"] for v in index["versions"]) or "none"
            raise RegistryError(f"version {version} is not published in {reg} (known: {known})")
        if index.get("latest") == version:
            raise RegistryError(
                f"version {version} is latest; roll back or publish another version first "
                "(e.g. --rollback OTHER --withdraw {version} --reason ...)".replace("{version}", version)
            )
        entry["withdrawn"] = True
        entry["withdrawn_reason"] = reason
        entry["withdrawn_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _write_index(reg, index)
    return index
