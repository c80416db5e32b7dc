"""A session's evidence: screenshot, HAR, trace, console and DOM, recorded with Playwright's own features.

The runner's interface is narrow: `context_options()` for the new context, `start(context)` once it
exists, `watch(page)` for the main page, `step(n, action)` as steps run, and `finish(failed)` before the
context closes, which returns the refs to put in the result. "on_failure" records from the start (a
trace or a HAR cannot be had after the fact) and uploads only when the session failed.

Nothing leaves unmasked: every text artifact (HAR JSON, console lines, the DOM, each text entry of the
trace zip) goes through `jobcore.masking` with the session's secrets, their Basic-auth forms, and
`user:pass@` userinfo; credential headers are replaced whole.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import logging
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from playwright.async_api import BrowserContext, ConsoleMessage, Page, Response

from jobcore import limits
from jobcore.artifact_budget import ArtifactBudget
from jobcore.masking import MASK, mask_obj, mask_text, mask_url
from jobcore.models import ArtifactName, ArtifactRef, FailureContext, SessionSpec
from jobcore.s3_layout import ARTIFACT_FILES
from jobcore.spec_secrets import secret_values
from worker.listeners import OnFn
from worker.screenshots import ScreenshotStore

log = logging.getLogger(__name__)

# The trace stops before the HAR closes the context (Playwright writes the HAR on close).
ORDER: Final[tuple[ArtifactName, ...]] = ("screenshot", "console", "dom", "trace", "har")
CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization"})


def masking_secrets(spec: SessionSpec) -> list[str]:
    """The spec's secrets, and the Basic-auth forms in which a proxy or a URL would send them."""
    secrets = secret_values(spec)
    pairs: list[tuple[str, str]] = []
    if spec.proxy is not None and spec.proxy.password is not None:
        pairs.append((spec.proxy.username or "", spec.proxy.password.get_secret_value()))
    parts = urlsplit(spec.url)
    if parts.password:
        pairs.append((unquote(parts.username or ""), unquote(parts.password)))
        secrets.append(unquote(parts.password))
    for user, password in pairs:
        secrets.append(base64.b64encode(f"{user}:{password}".encode()).decode())
    return [s for s in secrets if s]


def mask_har(data: Any, secrets: list[str]) -> Any:
    """Every string masked; credential headers replaced whole (their Basic form hides the password)."""
    for entry in data.get("log", {}).get("entries", []):
        for part in (entry.get("request", {}), entry.get("response", {})):
            for header in part.get("headers", []):
                if str(header.get("name", "")).lower() in CREDENTIAL_HEADERS:
                    header["value"] = MASK
    return mask_obj(data, secrets)


def mask_zip(raw: bytes, secrets: list[str]) -> bytes:
    """The trace with every UTF-8 entry masked; binary entries (screenshots) pass as they are."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            with contextlib.suppress(UnicodeDecodeError):  # binary entries pass as they are
                body = mask_text(body.decode("utf-8"), secrets).encode()
            dst.writestr(info.filename, body)
    return out.getvalue()


class ArtifactRecorder:
    def __init__(
        self,
        spec: SessionSpec,
        where: tuple[str, str, int],  # tenant, job id, session index
        store: ScreenshotStore | None,
        budget: ArtifactBudget | None,
    ) -> None:
        self.options = spec.artifacts
        self.where = where
        self.store = store
        self.budget = budget
        self.secrets = masking_secrets(spec)
        self.started = time.time()
        self.console: list[dict[str, Any]] = []
        self.last_console_error: str | None = None
        self.last_http_status: int | None = None
        self.step_index: int | None = None
        self.step_action: str | None = None
        self.page: Page | None = None
        self.title: str | None = None
        self.context: BrowserContext | None = None
        self.tracing = False
        self.stored = 0
        self._dir: Path | None = None

    def _records(self, name: ArtifactName) -> bool:
        return self.store is not None and self.options.recording(name)

    # ---- while the session runs -----------------------------------------------------------------

    def context_options(self) -> dict[str, Any]:
        """HAR recording is a context option: bodies omitted, written when the context closes."""
        if not self._records("har"):
            return {}
        self._dir = Path(tempfile.mkdtemp(prefix="tt-har-"))
        return {"record_har_path": str(self._dir / "session.har"), "record_har_content": "omit"}

    async def start(self, context: BrowserContext) -> None:
        self.context = context
        if self._records("trace"):
            await context.tracing.start(screenshots=True, snapshots=True, sources=False)
            self.tracing = True

    def watch(self, page: Page, on: OnFn) -> None:
        """Listen to the page through `on` (the session's listeners, removed at its end)."""
        self.page = page
        on(page, "console", self._on_console)
        on(page, "pageerror", lambda e: self._add("pageerror", f"uncaught: {e}"))
        on(page, "response", self._on_response)

    def step(self, index: int, action: str) -> None:
        self.step_index, self.step_action = index, action

    def _on_console(self, message: ConsoleMessage) -> None:
        self._add(message.type, message.text)

    def _on_response(self, response: Response) -> None:
        self.last_http_status = response.status

    def _add(self, kind: str, text: str) -> None:
        masked = mask_text(str(text)[: limits.MAX_CONSOLE_LINE_CHARS], self.secrets)
        if kind in ("error", "pageerror"):
            self.last_console_error = masked[:500]
        if len(self.console) < limits.MAX_CONSOLE_LINES:
            self.console.append(
                {"time_ms": int((time.time() - self.started) * 1000), "type": kind, "text": masked}
            )

    # ---- at the end -----------------------------------------------------------------------------

    def failure(self, failed_step: bool) -> FailureContext:
        url = self.page.url if self.page is not None else None
        return FailureContext(
            step_index=self.step_index if failed_step else None,
            step_action=self.step_action if failed_step else None,
            last_url=mask_url(url) if url and url.startswith(("http://", "https://")) else None,
            title=self.title,
            last_http_status=self.last_http_status,
            last_console_error=self.last_console_error,
        )

    async def finish(self, failed: bool, budget_s: float) -> list[ArtifactRef]:
        """Collect what is wanted (the context must still be open), upload it; close the context if a
        HAR was recorded (Playwright writes it then). Bounded by `budget_s`; never raises."""
        deadline = time.monotonic() + budget_s
        wanted = [n for n in ORDER if self.options.wanted(n, failed)]
        bodies: dict[ArtifactName, bytes | str] = {}
        if failed and self.page is not None and self.page.url.startswith(("http://", "https://")):
            with contextlib.suppress(Exception):  # a hung page has no title to give
                title = await asyncio.wait_for(self.page.title(), min(1.0, budget_s / 4))
                self.title = mask_text(title[:300], self.secrets) or None
        try:
            for name in ORDER:
                left = max(0.1, deadline - time.monotonic())
                try:
                    body = await asyncio.wait_for(self._collect(name, name in wanted), left)
                except Exception as exc:  # a hung or crashed page: note it, keep the rest
                    body = f"not recorded: {self._reason(exc)}"
                if body is not None and name in wanted:
                    bodies[name] = body
        finally:
            self.cleanup()
        if not wanted:
            return []
        if self.store is None:
            return [ArtifactRef(name=n, skipped="no bucket configured") for n in wanted]
        return [await self._upload(name, bodies.get(name, "not recorded")) for name in wanted]

    async def _collect(self, name: ArtifactName, wanted: bool) -> bytes | str | None:
        page = self.page
        if name == "screenshot" and wanted:
            if page is None or page.is_closed():
                return "not recorded: no page"
            # A navigation still pending (a timeout) holds the screenshot back: stop it, show what is there.
            with contextlib.suppress(Exception):  # best effort: the screenshot is what matters
                cdp = await page.context.new_cdp_session(page)
                try:
                    await cdp.send("Page.stopLoading")
                finally:
                    await cdp.detach()
            return await page.screenshot(type="png", full_page=True)
        if name == "console" and wanted:
            return json.dumps(self.console, indent=1).encode()
        if name == "dom" and wanted:
            if page is None or page.is_closed():
                return "not recorded: no page"
            html = mask_text(await page.content(), self.secrets).encode()
            return html[: limits.MAX_DOM_BYTES]
        if name == "trace" and self.tracing and self.context is not None:
            self.tracing = False
            if not wanted:
                await self.context.tracing.stop()  # discarded: the session went well
                return None
            self._dir = self._dir or Path(tempfile.mkdtemp(prefix="tt-trace-"))
            path = self._dir / "trace.zip"
            await self.context.tracing.stop(path=str(path))
            return mask_zip(path.read_bytes(), self.secrets)
        if name == "har" and self._dir is not None and self.context is not None:
            await self.context.close()  # Playwright writes the HAR file on close
            if not wanted:
                return None
            data = json.loads((self._dir / "session.har").read_text())
            return json.dumps(mask_har(data, self.secrets)).encode()
        return None

    async def _upload(self, name: ArtifactName, body: bytes | str) -> ArtifactRef:
        content_type = ARTIFACT_FILES[name][1]
        if isinstance(body, str):
            return ArtifactRef(name=name, content_type=content_type, skipped=body)
        size = len(body)
        if self.stored + size > limits.MAX_ARTIFACT_BYTES_PER_SESSION:
            cap = limits.MAX_ARTIFACT_BYTES_PER_SESSION
            return ArtifactRef(name=name, bytes=size, content_type=content_type,
                               skipped=f"{size} bytes, past the per-session cap of {cap}")  # fmt: skip
        if self.budget is not None and not await asyncio.to_thread(self.budget.reserve, self.where[1], size):
            cap = self.budget.cap
            return ArtifactRef(name=name, bytes=size, content_type=content_type,
                               skipped=f"{size} bytes, past the job's cap of {cap}")  # fmt: skip
        assert self.store is not None
        tenant, job_id, index = self.where
        try:
            url = await self.store.put_artifact(tenant, job_id, index, name, body)
        except Exception as exc:
            log.warning("artifact %s of %s/%d not stored: %s", name, job_id, index, exc)
            return ArtifactRef(
                name=name, bytes=size, content_type=content_type, skipped="the store refused it"
            )
        self.stored += size
        return ArtifactRef(name=name, url=url, bytes=size, content_type=content_type)

    def _reason(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return mask_text(text, self.secrets)[:200]

    def cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
