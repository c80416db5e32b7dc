"""HTTPS fixture sites on loopback, with leaves of the throwaway PKI made at test time.

`ThrowawayPki` holds the tests' CA (the one the worker is told to trust through
TRAFFIC_TOOL_EXTRA_CA_FILE) and another CA nobody trusts. `TlsSite` is the
fixture site (the same pages and routes) behind TLS with one leaf certificate:
valid, expired, not yet valid, for another name, from the other CA, limited to
TLS 1.2, or to TLS 1.0 (which browsers refuse).
"""

from __future__ import annotations

import ssl
import warnings

import trustme

from tests.support.fixture_site import FixtureSite
from traffic_tool.local.throwaway_pki import LEAF_DAYS, ThrowawayPki, server_context

__all__ = ["LEAF_DAYS", "ThrowawayPki", "TlsSite", "TlsSites"]


class TlsSite(FixtureSite):
    """The fixture site over HTTPS with one certificate; the handshake runs in the request's thread."""

    def __init__(self, leaf: trustme.LeafCert, host: str = "127.0.0.1", max_tls: str | None = None) -> None:
        context = server_context(leaf)
        if max_tls == "1.2":
            context.maximum_version = ssl.TLSVersion.TLSv1_2
        elif max_tls == "1.0":  # what browsers refuse as obsolete: OpenSSL serves it only at level 0
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
        super().__init__(host, tls=context)


class TlsSites:
    """The HTTPS fixture sites the e2e tests use, each with its own leaf (one server each)."""

    def __init__(self, pki: ThrowawayPki) -> None:
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
