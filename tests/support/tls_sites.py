"""HTTPS fixture sites on loopback, with a throwaway CA and leaves made at test time (`trustme`).

`TestPki` holds the tests' CA (the one the worker is told to trust through
TRAFFIC_TOOL_EXTRA_CA_FILE) and another CA nobody trusts. `TlsSite` is the
fixture site (the same pages and routes) behind TLS with one leaf certificate:
valid, expired, not yet valid, for another name, from the other CA, limited to
TLS 1.2, or to TLS 1.0 (which browsers refuse). Nothing is written but the CA's
PEM file, in a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
import warnings
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.fixture_site import FixtureSite

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


class TestPki:
    __test__ = False  # not a test class, whatever pytest thinks of the name

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


class TlsSite(FixtureSite):
    """The fixture site over HTTPS with one certificate; the handshake runs in the request's thread."""

    def __init__(self, leaf: trustme.LeafCert, host: str = "127.0.0.1", max_tls: str | None = None) -> None:
        super().__init__(host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(context)
        if max_tls == "1.2":
            context.maximum_version = ssl.TLSVersion.TLSv1_2
        elif max_tls == "1.0":  # what browsers refuse as obsolete: OpenSSL serves it only at level 0
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
        self.server.socket = context.wrap_socket(
            self.server.socket, server_side=True, do_handshake_on_connect=False
        )

    def url(self, path: str) -> str:
        return f"https://{self.host}:{self.port}{path}"


class TlsSites:
    """The HTTPS fixture sites the e2e tests use, each with its own leaf (one server each)."""

    def __init__(self, pki: TestPki) -> None:
        ip = "127.0.0.1"
        self.valid = TlsSite(pki.leaf(ip, "localhost"))
        self.expired = TlsSite(pki.leaf(ip, days=(-60, -2)))
        self.not_yet_valid = TlsSite(pki.leaf(ip, days=(5, 60)))
        self.wrong_name = TlsSite(pki.leaf("other.test", common_name="other.test"))
        self.other_ca = TlsSite(pki.leaf(ip, other_ca=True))
        self.tls12 = TlsSite(pki.leaf(ip), max_tls="1.2")
        self.tls10 = TlsSite(pki.leaf(ip), max_tls="1.0")
        # 127.0.0.2 is denied by the tests' policy: any request this one records is a guard leak.
        self.canary = TlsSite(pki.leaf("127.0.0.2"), host="127.0.0.2")
        self.all = (self.valid, self.expired, self.not_yet_valid, self.wrong_name, self.other_ca,
                    self.tls12, self.tls10, self.canary)  # fmt: skip
        for site in self.all:
            site.start()

    def stop(self) -> None:
        for site in self.all:
            site.stop()
