"""Detached Ed25519 signatures for exported files, so that a changed file is detected.

The key pair is created once (SET NX) and kept in the store, so every server process signs with the same key and
the public key can be published (``GET /api/signing-key``). A signature file holds one line: the base64 of the
64-byte signature.

PDF, XLSX and DOCX files also carry their signature inside (``embed``), where their readers ignore it: after a PDF's
last ``%%EOF`` as a comment line, and as a ZIP archive's comment. The signature is over the file without it
(``unembed`` takes it out again), so the same detached ``.sig`` checks the file either way, and the file alone
checks itself (``giaoban verify FILE``, the ``/verify`` page).

Key layout:
- ``PRIVATE_KEY`` (string): the private key, PKCS#8 PEM.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from redis.asyncio import Redis

PRIVATE_KEY = "giaoban:signing-key"


class Signer:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._key: Ed25519PrivateKey | None = None  # the key never changes once made: read it once

    async def private_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            stored = await self._redis.get(PRIVATE_KEY)
            if stored is None:
                pem = Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
                await self._redis.set(PRIVATE_KEY, pem.decode(), nx=True)  # another process may have won
                stored = await self._redis.get(PRIVATE_KEY)
            key = serialization.load_pem_private_key(stored.encode(), password=None)
            assert isinstance(key, Ed25519PrivateKey)
            self._key = key
        return self._key

    async def sign(self, data: bytes) -> bytes:
        """The signature file's content for ``data``."""
        return base64.b64encode((await self.private_key()).sign(data)) + b"\n"

    async def public_key_pem(self) -> str:
        return public_pem((await self.private_key()).public_key())


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(public_key_pem: str) -> str:
    """SHA-256 of the raw public key, grouped for reading aloud over the phone."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest().upper()
    return ":".join(digest[i : i + 4] for i in range(0, 32, 4))


def verify(data: bytes, signature_file: bytes, public_key_pem: str) -> bool:
    try:
        signature = base64.b64decode(signature_file.strip(), validate=True)
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except (binascii.Error, ValueError):
        return False
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


PDF_MARK = b"\n%giaoban-signature "
ZIP_MARK = b"giaoban-signature "
ZIP_END = b"PK\x05\x06"  # the end-of-central-directory record; its last 2 bytes count the archive comment
ZIP_END_SIZE = 22


def embed(data: bytes, signature_file: bytes) -> bytes:
    """The file with its signature inside, where a format allows one (PDF, ZIP-based); else the file as it is."""
    signature = signature_file.strip()
    if data.startswith(b"%PDF-"):
        return data + PDF_MARK + signature + b"\n"
    if data.startswith(b"PK") and data[-ZIP_END_SIZE : -ZIP_END_SIZE + 4] == ZIP_END and data[-2:] == b"\0\0":
        comment = ZIP_MARK + signature
        return data[:-2] + len(comment).to_bytes(2, "little") + comment
    return data


def unembed(data: bytes) -> tuple[bytes, bytes | None]:
    """The file as it was signed, and the signature it carried (None: it carries none)."""
    if data.startswith(b"%PDF-") and data.endswith(b"\n"):
        at = data.rfind(PDF_MARK)
        if at >= 0 and b"\n" not in data[at + len(PDF_MARK) : -1]:
            return data[:at], data[at + len(PDF_MARK) : -1]
    if data.startswith(b"PK"):
        end = data.rfind(ZIP_END)
        if end >= 0 and end + ZIP_END_SIZE <= len(data):
            length = int.from_bytes(data[end + 20 : end + 22], "little")
            comment = data[end + ZIP_END_SIZE :]
            if len(comment) == length and comment.startswith(ZIP_MARK):
                return data[: end + 20] + b"\0\0", comment[len(ZIP_MARK) :]
    return data, None


def verify_file(data: bytes, signature_file: bytes | None, public_key_pem: str) -> bool:
    """Whether ``data`` (with its signature inside, or not) is what this key signed: against the detached
    signature when one is given, else against the one it carries."""
    signed, carried = unembed(data)
    signature = signature_file if signature_file else carried
    return signature is not None and verify(signed, signature, public_key_pem)
