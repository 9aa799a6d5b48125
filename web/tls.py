"""HTTPS without a proxy: the operator's own certificate, or one made once for a LAN trial.

Browsers give a page the camera and microphone only in a secure context: ``https://`` or the PC's own loopback.
A commune PC that opens ``http://10.0.0.5:8080`` gets no camera, so a LAN deployment without the compose file's
proxy needs HTTPS here. ``--self-signed`` makes an ECDSA certificate in ``<data-dir>/tls`` the first time (kept
for the next starts, so the fingerprint staff checked stays the same) for the names this machine answers to.
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import hashlib
import ipaddress
import os
import socket
import ssl
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scheduler.errors import GiaobanError

SELF_SIGNED_DAYS = 825
CERT_FILE, KEY_FILE = "cert.pem", "key.pem"
_SIOCGIFADDR = 0x8915


class TlsError(GiaobanError):
    """The certificate or key cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        for path in (self.cert, self.key):
            if not path.is_file():
                raise TlsError(f"cannot read {path}: no such file")
        try:
            context.load_cert_chain(self.cert, self.key)
        except (ssl.SSLError, OSError) as exc:
            raise TlsError(f"cannot use the certificate {self.cert} with the key {self.key}: {exc}") from None
        return context

    def fingerprints(self) -> tuple[str, str]:
        """(SHA-256 of the certificate as browsers show it, base64 SHA-256 of its public key as Chromium pins it)."""
        certificate = x509.load_pem_x509_certificate(self.cert.read_bytes())
        whole = certificate.fingerprint(hashes.SHA256()).hex().upper()
        public = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return ":".join(whole[i : i + 2] for i in range(0, len(whole), 2)), base64.b64encode(
            hashlib.sha256(public).digest()
        ).decode()


def self_signed(data_dir: Path, host: str) -> Certificate:
    """The data dir's self-signed certificate, made now if there is none yet."""
    folder = data_dir / "tls"
    made = Certificate(folder / CERT_FILE, folder / KEY_FILE)
    if made.cert.exists() and made.key.exists():
        return made
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names = _names(host)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "giaoban (self-signed)")])  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    descriptor = os.open(made.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key_pem)
    made.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return made


def _names(host: str) -> list[str]:
    """The names and addresses commune PCs may type: this machine's name, its addresses, and loopback."""
    names = [socket.gethostname(), "localhost", "127.0.0.1", "::1"]
    if host not in ("0.0.0.0", "::", "localhost"):
        names.insert(0, host)
    names.extend(_addresses())
    return list(dict.fromkeys(names))


def _addresses() -> list[str]:
    """Every IPv4 address of this machine's interfaces (Linux: SIOCGIFADDR), the ones a LAN reaches it by."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:  # an interface with no IPv4 address
                continue
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
