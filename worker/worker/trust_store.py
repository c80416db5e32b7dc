"""The browsers' own home, with an NSS database that trusts the extra CAs of the settings.

Chromium on Linux trusts the system's CAs plus those of the NSS database at
`$HOME/.pki/nssdb`. A worker gives its browsers a home of its own (a temporary
folder it removes at close): the user's database is never read, nor another
worker's, and the extra CAs (`TRAFFIC_TOOL_EXTRA_CA_FILE`, or the same PEM as text
in `TRAFFIC_TOOL_EXTRA_CA_PEM`, how ECS hands over a secret) are added there at
start with Debian's `certutil` (libnss3-tools). A bad file stops the worker at
start, not at its first HTTPS session. There is no switch to ignore certificate
errors: a CA is trusted, or the session fails with `tls_error`.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jobcore.settings import Settings

log = logging.getLogger(__name__)

_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")
_CERTUTIL_TIMEOUT_S = 30
TRUST_FLAGS = "C,,"  # a CA trusted to issue server certificates; nothing for e-mail or code signing


class TrustStoreError(Exception):
    """The extra CAs could not be read or added: the worker must not start without them."""


@dataclass(frozen=True)
class BrowserHome:
    path: Path
    extra_cas: int

    def env(self) -> dict[str, str]:
        return {"HOME": str(self.path)}

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def extra_ca_certificates(settings: Settings) -> list[str]:
    """The PEM blocks of the extra CAs: the file's, then the text's."""
    sources: list[tuple[str, str]] = []
    if settings.extra_ca_file:
        try:
            sources.append(("TRAFFIC_TOOL_EXTRA_CA_FILE", Path(settings.extra_ca_file).read_text()))
        except (OSError, UnicodeDecodeError) as exc:
            raise TrustStoreError(f"TRAFFIC_TOOL_EXTRA_CA_FILE {settings.extra_ca_file!r}: {exc}") from exc
    if settings.extra_ca_pem.strip():
        sources.append(("TRAFFIC_TOOL_EXTRA_CA_PEM", settings.extra_ca_pem))
    blocks: list[str] = []
    for name, text in sources:
        found = _PEM_BLOCK.findall(text)
        if not found:
            raise TrustStoreError(f"{name} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        blocks.extend(found)
    return blocks


def make_browser_home(settings: Settings) -> BrowserHome:
    """A fresh home for this worker's browsers, its NSS database trusting the extra CAs."""
    certificates = extra_ca_certificates(settings)
    home = Path(tempfile.mkdtemp(prefix="traffic-tool-browsers-"))
    try:
        if certificates:
            _build_nssdb(home / ".pki" / "nssdb", certificates)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    if certificates:
        log.info("browsers trust %d extra CA certificate(s) besides the system's", len(certificates))
    return BrowserHome(home, len(certificates))


def _build_nssdb(db: Path, certificates: list[str]) -> None:
    db.mkdir(parents=True, mode=0o700)
    where = f"sql:{db}"
    _certutil("-N", "-d", where, "--empty-password")
    for number, pem in enumerate(certificates, start=1):
        file = db / f"extra-ca-{number}.pem"
        file.write_text(pem + "\n")
        try:
            _certutil("-A", "-d", where, "-n", f"traffic-tool extra CA {number}", "-t", TRUST_FLAGS,
                      "-i", str(file))  # fmt: skip
        finally:
            file.unlink()


def _certutil(*args: str) -> str:
    exe = shutil.which("certutil")
    if exe is None:
        raise TrustStoreError("certutil not found: the extra CAs need Debian's libnss3-tools")
    proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=_CERTUTIL_TIMEOUT_S,
                          check=False)  # fmt: skip
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise TrustStoreError(f"certutil {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout
