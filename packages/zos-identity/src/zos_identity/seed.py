"""The node's seed file, in every format upstream wrote.

Format ("versioned"): a JSON string holding a semver, immediately followed by the payload.

- ``"1.0.0"`` + 32 raw seed bytes: what upstream writes, and what this module writes.
- ``"1.1.0"`` + ``{"mnemonic": "<bip39 words>"}``: the seed is the mnemonic's BIP39 entropy.
- no version header: a legacy raw 32-byte seed. Rewritten as ``"1.0.0"``.
- ``"1.1.0"`` + 32 raw bytes: what upstream's legacy migration actually wrote (a bug that made
  the file unreadable to upstream). Read as a raw seed and rewritten as ``"1.0.0"``.

Upstream deletes a seed it cannot read and starts over with a new identity (zos#2501). Here an
unreadable seed is a `SeedError` and the file is left exactly as it is. Every successful load
also keeps a backup copy beside it (``<name>.backup``) for the operator to restore from.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from mnemonic import Mnemonic

from zos_identity.api import SeedError

SEED_SIZE = 32
VERSION_RAW = "1.0.0"
VERSION_MNEMONIC = "1.1.0"
UNVERSIONED = "0.0.0"

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_JSON_SPACE = b" \t\r\n"


@dataclass(frozen=True)
class SeedFile:
    seed: bytes
    version: str
    """The version the file had when read (``"0.0.0"`` for a legacy unversioned file)."""
    migrated: bool = False
    """The file was rewritten in the current format."""


def split_versioned(data: bytes) -> tuple[str, bytes] | None:
    """(version, payload) of versioned data, or None when it has no version header.

    Mirrors upstream: leading JSON whitespace is skipped, the header must be a JSON string that
    parses as a semver, and the payload is every byte after the closing quote.
    """
    start = len(data) - len(data.lstrip(_JSON_SPACE))
    if data[start:start + 1] != b'"':
        return None
    try:
        # latin-1 keeps one character per byte, so the decoder's end index is a byte offset.
        value, end = json.JSONDecoder().raw_decode(data.decode("latin-1"), start)
    except ValueError:
        return None
    if not isinstance(value, str) or not _SEMVER.match(value):
        return None
    return value.removeprefix("v"), data[end:]


def encode_versioned(version: str, payload: bytes) -> bytes:
    return json.dumps(version).encode() + payload


def _seed_from_payload(version: str, payload: bytes, path: Path) -> tuple[bytes, bool]:
    """The seed in a versioned payload, and whether the file must be rewritten."""
    if version == VERSION_RAW:
        if len(payload) != SEED_SIZE:
            raise SeedError(f"seed file {path} (version {version}) holds {len(payload)} bytes, "
                            f"a seed is {SEED_SIZE}")
        return payload, False
    if version == VERSION_MNEMONIC:
        try:
            document = json.loads(payload)
        except ValueError:
            if len(payload) == SEED_SIZE:
                return payload, True  # upstream's broken legacy migration
            raise SeedError(f"seed file {path} (version {version}) is neither JSON nor a raw "
                            f"{SEED_SIZE}-byte seed") from None
        words = document.get("mnemonic") if isinstance(document, dict) else None
        if not isinstance(words, str):
            raise SeedError(f"seed file {path} (version {version}) has no \"mnemonic\" string")
        try:
            entropy = bytes(Mnemonic("english").to_entropy(" ".join(words.split())))
        except (ValueError, LookupError) as exc:
            raise SeedError(f"seed file {path}: invalid mnemonic: {exc}") from None
        if len(entropy) != SEED_SIZE:
            raise SeedError(f"seed file {path}: the mnemonic holds {len(entropy)} bytes of "
                            f"entropy, a seed is {SEED_SIZE} (24 words)")
        return entropy, False
    raise SeedError(f"seed file {path} has unknown version {version!r} "
                    f"(known: {VERSION_RAW}, {VERSION_MNEMONIC})")


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".backup")


def write_seed(path: Path, seed: bytes) -> None:
    """Write ``seed`` as version 1.0.0, atomically (temp file, fsync, rename), mode 0400."""
    if len(seed) != SEED_SIZE:
        raise ValueError(f"a seed is {SEED_SIZE} bytes, got {len(seed)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
    try:
        os.write(fd, encode_versioned(VERSION_RAW, seed))
        os.fsync(fd)
    finally:
        os.close(fd)
    temporary.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_seed(path: Path) -> SeedFile:
    """Read the seed in any upstream format; legacy formats are rewritten as 1.0.0.

    Raises FileNotFoundError when there is no file, `SeedError` when it cannot be used.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from exc
    parsed = split_versioned(data)
    if parsed is None:
        if len(data) != SEED_SIZE:
            raise SeedError(f"seed file {path} has no version header and holds {len(data)} "
                            f"bytes; a legacy raw seed is {SEED_SIZE}")
        write_seed(path, data)
        return SeedFile(seed=data, version=UNVERSIONED, migrated=True)
    version, payload = parsed
    seed, rewrite = _seed_from_payload(version, payload, path)
    if rewrite:
        write_seed(path, seed)
    return SeedFile(seed=seed, version=version, migrated=rewrite)


def load_or_create(path: Path) -> SeedFile:
    """The node's seed: read it, or create one only when there is no seed file at all.

    A seed that exists but cannot be read raises `SeedError` naming the file and the backup;
    the file is never deleted or replaced.
    """
    backup = backup_path(path)
    try:
        loaded = read_seed(path)
    except FileNotFoundError:
        if backup.exists():
            raise SeedError(
                f"seed file {path} is missing but a backup exists at {backup}; refusing to "
                f"create a new identity. Restore it with: cp {backup} {path}") from None
        seed = secrets.token_bytes(SEED_SIZE)
        write_seed(path, seed)
        loaded = SeedFile(seed=seed, version=VERSION_RAW)
    except SeedError as exc:
        hint = (f"; a backup of the last good seed is at {backup} (check it, then "
                f"cp {backup} {path})" if backup.exists() else "")
        raise SeedError(f"{exc}. identityd will not start with a new identity{hint}") from exc
    _keep_backup(backup, loaded.seed)
    return loaded


def _keep_backup(backup: Path, seed: bytes) -> None:
    try:
        current = backup.read_bytes()
    except OSError:
        current = b""
    if current != encode_versioned(VERSION_RAW, seed):
        write_seed(backup, seed)


def generate_seed_file(path: Path) -> bytes:
    """Create a new seed file (refuses to overwrite one)."""
    if path.exists():
        raise SeedError(f"seed file {path} already exists")
    seed = secrets.token_bytes(SEED_SIZE)
    write_seed(path, seed)
    return seed
