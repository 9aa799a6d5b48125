"""``giaoban backup`` and ``giaoban restore``: the whole store, and optionally the recordings, in one archive.

The store is read in one server-side script, so the archive is one instant of it (as BGSAVE would be) while the
service keeps running: a meeting's attendance never half in, half out. Keys are written as what they hold (a
string, a hash, a sorted set, a stream with its entry ids …), not as Redis's own ``DUMP`` format, so an archive of
the embedded Valkey restores into Redis 7 and back. The signing key is in the store: exports signed before the
backup still verify after a restore.

The archive is a gzipped tar: ``manifest.json``, ``store.jsonl`` (one key a line), ``tls/`` (the self-signed
certificate, if any) and, with ``--recordings``, ``recordings/``. It is written next to its name and renamed
when complete; a restore refuses a store that is not empty, and any member that would land outside its folder.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from redis.asyncio import Redis

from scheduler.errors import Conflict, InvalidInput

FORMAT = "giaoban-backup/1"
MANIFEST, STORE_FILE = "manifest.json", "store.jsonl"
RESTORE_BATCH = 500  # keys per pipeline

# Every key with its type, time to live (ms; -1: none) and contents, in one atomic step.
SNAPSHOT_SCRIPT = """
local out = {}
for _, key in ipairs(redis.call('KEYS', '*')) do
  local kind = redis.call('TYPE', key)['ok']
  local value
  if kind == 'string' then value = {redis.call('GET', key)}
  elseif kind == 'hash' then value = redis.call('HGETALL', key)
  elseif kind == 'list' then value = redis.call('LRANGE', key, 0, -1)
  elseif kind == 'set' then value = redis.call('SMEMBERS', key)
  elseif kind == 'zset' then value = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  elseif kind == 'stream' then value = redis.call('XRANGE', key, '-', '+')
  else value = {} end
  out[#out + 1] = {key, kind, redis.call('PTTL', key), value}
end
return out
"""


@dataclass(frozen=True)
class Summary:
    keys: int
    files: int
    made_at: str


async def backup(redis: Redis, archive: Path, *, data_dir: Path, recordings: Path | None) -> Summary:
    snapshot = await redis.eval(SNAPSHOT_SCRIPT, 0)
    lines = "".join(json.dumps(_key_entry(row), ensure_ascii=False) + "\n" for row in snapshot).encode()
    made_at = datetime.now(UTC).isoformat(timespec="seconds")
    files = list(_files(data_dir / "tls", "tls"))
    if recordings is not None:
        files += list(_files(recordings, "recordings"))
    manifest = {"format": FORMAT, "made_at": made_at, "keys": len(snapshot), "files": len(files),
                "recordings": recordings is not None}  # fmt: skip
    partial = archive.with_name(archive.name + ".part")
    with tarfile.open(partial, "w:gz") as tar:
        _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
        _add_bytes(tar, STORE_FILE, lines)
        for path, name in files:
            tar.add(path, arcname=name, recursive=False)
    os.replace(partial, archive)
    return Summary(len(snapshot), len(files), made_at)


async def restore(redis: Redis, archive: Path, *, data_dir: Path, recordings: Path) -> Summary:
    if await redis.dbsize():
        raise Conflict("The store is not empty; restore into a new data directory (or an empty Redis)")
    with _open(archive) as tar:
        manifest = _read_json(tar, MANIFEST)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InvalidInput("{file} is not a giaoban backup (no {format} manifest)", file=str(archive),
                               format=FORMAT)  # fmt: skip
        entries = [json.loads(line) for line in _read(tar, STORE_FILE).decode().splitlines() if line]
        folders = {"tls": data_dir / "tls", "recordings": recordings}
        members = [(member, _destination(member, folders)) for member in tar.getmembers()
                   if member.name not in (MANIFEST, STORE_FILE)]  # fmt: skip
        for start in range(0, len(entries), RESTORE_BATCH):
            async with redis.pipeline(transaction=True) as pipe:
                for entry in entries[start : start + RESTORE_BATCH]:
                    _write_key(pipe, entry)
                await pipe.execute()
        for member, destination in members:
            _extract(tar, member, destination)
    return Summary(len(entries), len(members), str(manifest.get("made_at", "")))


def _open(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:gz")  # the caller's with-block closes it
    except (OSError, tarfile.TarError) as exc:
        raise InvalidInput("{file} is not a giaoban backup: {problem}", file=str(archive), problem=str(exc)) from None


def _key_entry(row: list[Any]) -> dict[str, Any]:
    key, kind, ttl, value = row
    if kind == "stream":
        value = [[entry_id, fields] for entry_id, fields in value]
    return {"key": key, "type": kind, "ttl_ms": int(ttl), "value": value}


def _write_key(pipe: Any, entry: dict[str, Any]) -> None:
    key, kind, value = entry["key"], entry["type"], entry["value"]
    if kind == "string":
        pipe.set(key, value[0])
    elif kind == "hash" and value:
        pipe.hset(key, mapping=dict(zip(value[::2], value[1::2], strict=True)))
    elif kind == "list" and value:
        pipe.rpush(key, *value)
    elif kind == "set" and value:
        pipe.sadd(key, *value)
    elif kind == "zset" and value:
        pipe.zadd(key, {member: float(score) for member, score in zip(value[::2], value[1::2], strict=True)})
    elif kind == "stream":
        for entry_id, fields in value:
            pipe.xadd(key, dict(zip(fields[::2], fields[1::2], strict=True)), id=entry_id)
    if entry["ttl_ms"] > 0:
        pipe.pexpire(key, entry["ttl_ms"])


def _files(folder: Path, prefix: str) -> Iterator[tuple[Path, str]]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.endswith(".part"):
            yield path, f"{prefix}/{path.relative_to(folder).as_posix()}"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        member = tar.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise InvalidInput("The backup has no {name}", name=name)
    return member.read()


def _read_json(tar: tarfile.TarFile, name: str) -> Any:
    try:
        return json.loads(_read(tar, name))
    except ValueError:
        raise InvalidInput("The backup's {name} is damaged", name=name) from None


def _destination(member: tarfile.TarInfo, folders: dict[str, Path]) -> Path:
    """Where a member goes, or InvalidInput if it is not a plain file inside one of our folders."""
    parts = PurePosixPath(member.name).parts
    if (not member.isfile() or len(parts) < 2 or parts[0] not in folders or ".." in parts
            or PurePosixPath(member.name).is_absolute()):  # fmt: skip
        raise InvalidInput("The backup holds {name}, which a restore does not write", name=member.name)
    return folders[parts[0]].joinpath(*parts[1:])


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, destination: Path) -> None:
    if destination.exists():
        return  # never over a file that is there: the certificate a new data dir made, say
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    assert source is not None  # a regular file, checked by _destination
    with source, destination.open("wb") as target:
        while chunk := source.read(1 << 20):
            target.write(chunk)
    if destination.parent.name == "tls":
        destination.chmod(0o600)
