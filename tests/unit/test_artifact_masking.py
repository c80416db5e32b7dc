"""Artifacts are masked before they leave the worker: HAR JSON, trace zip entries, Basic-auth forms."""

from __future__ import annotations

import base64
import io
import json
import zipfile

from jobcore.models import ArtifactOptions, SessionSpec
from worker.artifacts import mask_har, mask_zip, masking_secrets

SPEC = SessionSpec.model_validate({
    "url": "http://alice:url-secret@127.0.0.1:9/page",
    "proxy": {"server": "http://127.0.0.1:3128", "username": "bob", "password": "proxy-secret"},
})  # fmt: skip
BASIC = base64.b64encode(b"bob:proxy-secret").decode()


def test_defaults_keep_screenshot_and_console_on_failure_only() -> None:
    options = ArtifactOptions()
    assert [n for n in ("screenshot", "har", "trace", "console", "dom") if options.wanted(n, True)] == [
        "screenshot", "console"
    ]  # fmt: skip
    assert not any(options.wanted(n, False) for n in ("screenshot", "har", "trace", "console", "dom"))
    assert not options.recording("trace") and not options.recording("har")


def test_har_loses_every_secret_and_credential_header() -> None:
    har = {"log": {"version": "1.2", "entries": [{
        "request": {"url": "http://alice:url-secret@127.0.0.1:9/page",
                    "headers": [{"name": "Proxy-Authorization", "value": f"Basic {BASIC}"},
                                {"name": "Authorization", "value": "Digest opaque"}]},
        "response": {"status": 200, "headers": [{"name": "X-Echo", "value": "proxy-secret"}]},
    }]}}  # fmt: skip
    text = json.dumps(mask_har(har, masking_secrets(SPEC)))
    for secret in ("url-secret", "proxy-secret", BASIC, "Digest opaque"):
        assert secret not in text
    assert "http://alice:***@127.0.0.1:9/page" in text


def test_trace_text_entries_are_masked_binary_ones_kept() -> None:
    raw = io.BytesIO()
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256))
    with zipfile.ZipFile(raw, "w") as z:
        z.writestr("trace.network", json.dumps({"headers": [{"value": f"Basic {BASIC}"}]}) + "\n")
        z.writestr("trace.trace", "url-secret proxy-secret\n")
        z.writestr("resources/shot.jpeg", jpeg)
    with zipfile.ZipFile(io.BytesIO(mask_zip(raw.getvalue(), masking_secrets(SPEC)))) as z:
        text = z.read("trace.network").decode() + z.read("trace.trace").decode()
        assert z.read("resources/shot.jpeg") == jpeg
    assert "url-secret" not in text and "proxy-secret" not in text and BASIC not in text
