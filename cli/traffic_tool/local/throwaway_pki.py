"""A throwaway PKI for HTTPS on loopback (tests, benchmarks): a CA made at start (`trustme`, a dev
dependency), leaves for any host and validity, and another CA nobody trusts. Nothing is written but the
CA's PEM file, in a temporary folder, for a worker to trust through TRAFFIC_TOOL_EXTRA_CA_FILE.
"""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LEAF_DAYS = 30  # the valid leaf's validity from now: days_left is 29 or 30


def _ca(common_name: str) -> trustme.CA:
    """A CA with a common name (trustme's own have none, and Chromium reports the issuer by its CN)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return trustme.CA.from_pem(cert.public_bytes(serialization.Encoding.PEM), key_pem)


class ThrowawayPki:
    def __init__(self) -> None:
        self.ca = _ca("Traffic Tool Test CA")
        self.other_ca = _ca("Untrusted Other CA")
        self._dir = tempfile.TemporaryDirectory(prefix="tt-test-pki-")
        self.ca_file = Path(self._dir.name) / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def leaf(self, *hosts: str, days: tuple[float, float] = (-1, LEAF_DAYS), other_ca: bool = False,
             common_name: str = "tls-fixture.test") -> trustme.LeafCert:  # fmt: skip
        now = dt.datetime.now(dt.UTC)
        issuer = self.other_ca if other_ca else self.ca
        return issuer.issue_cert(
            *hosts, common_name=common_name,
            not_before=now + dt.timedelta(days=days[0]), not_after=now + dt.timedelta(days=days[1]),
        )  # fmt: skip

    def close(self) -> None:
        self._dir.cleanup()


def server_context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    """A server's TLS context presenting `leaf`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    return context
