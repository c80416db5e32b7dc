"""A small client of the job API, used by the CLI (it talks HTTP like any other client)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from jobcore.models import HealthView, JobAccepted, JobList, JobView
from jobcore.operator_models import DeadLetter, DeadLetterPage, FleetView, RedriveResult


class ApiClientError(Exception):
    """One line a person can act on; the CLI prints it and exits non-zero."""


_STATUS_ADVICE = {
    401: "the API refused the request: no bearer token, or a malformed one (set TRAFFIC_TOOL_TOKEN)",
    403: "the API refused the token: it belongs to no tenant (check TRAFFIC_TOOL_TOKEN)",
    404: "not found: no such job for this tenant",
}


class ApiClient:
    def __init__(self, base_url: str, token: str, timeout_s: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers["User-Agent"] = "traffic-tool-cli/0.1"
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiClientError(f"cannot reach the API at {self.base_url}: {exc} (is it running?)") from None
        if reply.status_code < 400:
            return reply.json() if reply.content else None  # 204 has no body
        error_type = None
        try:
            detail = reply.json()
            error = detail.get("error") or {}
            error_type = error.get("type")
            message = error.get("message") or detail.get("message") or reply.text
        except ValueError:
            message = reply.text.strip() or reply.reason_phrase
        if reply.status_code == 429:
            retry = reply.headers.get("Retry-After", "a few")
            raise ApiClientError(f"too many sessions queued: {message}; retry in {retry} s")
        if reply.status_code == 503:
            raise ApiClientError(f"the service is unavailable: {message}; retry shortly")
        advice = _STATUS_ADVICE.get(reply.status_code)
        if error_type == "forbidden":  # the API's own 403: a tenant's token on an operator route
            raise ApiClientError(f"{message} (check TRAFFIC_TOOL_TOKEN)")
        if advice and reply.status_code != 404:
            raise ApiClientError(advice)
        raise ApiClientError(f"HTTP {reply.status_code}: {message}")

    def submit(self, body: dict[str, Any], idempotency_key: str | None = None) -> JobAccepted:
        # A key per submit makes the client's own retries safe.
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return JobAccepted.model_validate(self._call("POST", "/jobs", json=body, headers=headers))

    def get(self, job_id: str) -> JobView:
        return JobView.model_validate(self._call("GET", f"/jobs/{job_id}"))

    def list(self, limit: int = 20, cursor: str | None = None) -> JobList:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return JobList.model_validate(self._call("GET", "/jobs", params=params))

    def cancel(self, job_id: str) -> JobView:
        return JobView.model_validate(self._call("DELETE", f"/jobs/{job_id}"))

    # ---- operator routes ----------------------------------------------------------------------

    def fleet(self) -> FleetView:
        return FleetView.model_validate(self._call("GET", "/fleet"))

    def dead_letters(
        self, tenant: str | None = None, reason: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> DeadLetterPage:
        params = {k: v for k, v in {"tenant": tenant, "reason": reason, "cursor": cursor}.items() if v}
        params["limit"] = str(limit)
        return DeadLetterPage.model_validate(self._call("GET", "/dead-letters", params=params))

    def dead_letter(self, entry_id: str) -> DeadLetter:
        return DeadLetter.model_validate(self._call("GET", f"/dead-letters/{entry_id}"))

    def redrive(self, body: dict[str, Any]) -> RedriveResult:
        return RedriveResult.model_validate(self._call("POST", "/dead-letters/redrive", json=body))

    def download(self, url: str) -> bytes:
        """An artifact behind a presigned link. Never with our bearer token: the link is its own grant."""
        try:
            reply = httpx.get(url, timeout=self.http.timeout, follow_redirects=False)
        except httpx.TransportError as exc:
            raise ApiClientError(f"cannot download {url.split('?', maxsplit=1)[0]}: {exc}") from None
        if reply.status_code != 200:
            raise ApiClientError(
                f"download of {url.split('?', maxsplit=1)[0]} answered HTTP {reply.status_code}"
            )
        return reply.content

    def health(self) -> HealthView:
        try:
            reply = self.http.get("/health")
        except httpx.TransportError as exc:
            raise ApiClientError(f"cannot reach the API at {self.base_url}: {exc} (is it running?)") from None
        return HealthView.model_validate(reply.json())
