"""The job use cases behind the API: submit (guarded, admitted, idempotent), get, list, cancel, health.

The API handler parses and maps; everything it decides lives here, so the same
rules hold for the Lambda, the local adapter and the tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import redis
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore import keys, limits
from jobcore.constants import JobStatus
from jobcore.errors import (
    IdempotencyConflictError,
    IdempotencyInProgressError,
    InvalidRequestError,
    JobNotFoundError,
    StoreUnavailableError,
    TargetBlockedError,
)
from jobcore.idempotency_store import IdempotencyStore
from jobcore.models import HealthView, JobAccepted, JobList, JobRequest, JobView
from jobcore.queue import JobQueue
from jobcore.redis_conn import as_store_error
from jobcore.session_cost import job_cost
from jobcore.settings import Settings
from jobcore.store import ArchiveReader, JobStore
from jobcore.urlguard import (
    EgressPolicy,
    Target,
    parse_proxy_server,
    parse_target,
    policy_from_settings,
)

# How long a request waits for a concurrent request with the same Idempotency-Key to finish
# before it is told to retry (409): a submit takes milliseconds, so this is generous.
IDEMPOTENCY_WAIT_S = 3.0


def _proxy_target(server: str) -> Target:
    proxy = parse_proxy_server(server)
    return Target(proxy.scheme, proxy.host, proxy.port)


def request_fingerprint(request: JobRequest) -> str:
    """A hash of the request's meaning (not its whitespace): the Idempotency-Key must match it."""
    data = request.model_dump(mode="json")
    # the real password, not the SecretStr mask, tells two bodies apart
    for spec, session in zip(request.sessions, data["sessions"], strict=True):
        if spec.proxy is not None and spec.proxy.password is not None:
            session["proxy"]["password"] = spec.proxy.password.get_secret_value()
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class JobService:
    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        policy: EgressPolicy | None = None,
        archive: ArchiveReader | None = None,
        presign: Callable[[str], str] | None = None,
    ) -> None:
        self.settings = settings
        self.presign = presign
        self.queue = JobQueue(client, settings)
        self.store = JobStore(client, archive)
        self.policy = policy or policy_from_settings(settings)
        self._idempotency = IdempotencyConfig(
            event_key_jmespath='["tenant", "key"]',
            payload_validation_jmespath="fingerprint",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=limits.IDEMPOTENCY_TTL_S,
            hash_function="sha256",
        )
        persistence = IdempotencyStore(client)
        self._submit_once = idempotent_function(
            data_keyword_argument="submission",
            persistence_store=persistence,
            config=self._idempotency,
            output_serializer=PydanticSerializer(JobAccepted),
            key_prefix=keys.IDEMPOTENCY_PREFIX,
        )(self._submit_idempotent)

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Lets an in-progress idempotency record expire with the invocation that wrote it."""
        self._idempotency.register_lambda_context(context)

    # ---- submit -------------------------------------------------------------------------------

    def check_targets(self, request: JobRequest) -> None:
        """The submit-time egress policy: every session's URL and proxy, each target checked once."""
        seen: set[Target] = set()
        for index, spec in enumerate(request.sessions):
            named: list[tuple[str, str, Callable[[str], Target]]] = [("url", spec.url, parse_target)]
            if spec.proxy is not None:
                named.append(("proxy.server", spec.proxy.server, _proxy_target))
            for field, raw, parse in named:
                try:
                    target = parse(raw)
                    if target not in seen:
                        self.policy.check_target(target)
                        seen.add(target)
                except TargetBlockedError as exc:
                    raise TargetBlockedError(exc.url, f"sessions[{index}].{field}: {exc.reason}") from exc

    def submit(self, tenant: str, request: JobRequest, idempotency_key: str | None = None) -> JobAccepted:
        self.check_targets(request)
        if idempotency_key is None:
            return self._accept(tenant, request)
        if not 1 <= len(idempotency_key) <= limits.MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidRequestError(
                f"Idempotency-Key must be 1-{limits.MAX_IDEMPOTENCY_KEY_LENGTH} characters"
            )
        submission = {
            "tenant": tenant,
            "key": idempotency_key,
            "fingerprint": request_fingerprint(request),
            "request": request,
        }
        deadline = time.monotonic() + IDEMPOTENCY_WAIT_S
        while True:
            try:
                accepted: JobAccepted = self._submit_once(submission=submission)
                return accepted
            except IdempotencyValidationError as exc:
                raise IdempotencyConflictError(
                    "this Idempotency-Key was already used with a different request body"
                ) from exc
            except IdempotencyAlreadyInProgressError as exc:
                if time.monotonic() > deadline:
                    raise IdempotencyInProgressError(
                        "a request with this Idempotency-Key is still being processed; retry shortly"
                    ) from exc
                time.sleep(0.01)
            except IdempotencyPersistenceLayerError as exc:
                cause = exc.args[1] if len(exc.args) > 1 else exc
                mapped = as_store_error(cause) if isinstance(cause, BaseException) else None
                unavailable = StoreUnavailableError(f"the job store (Redis) is unavailable: {cause}")
                raise mapped or unavailable from exc

    def _submit_idempotent(self, submission: dict[str, Any]) -> JobAccepted:
        return self._accept(submission["tenant"], submission["request"])

    def _accept(self, tenant: str, request: JobRequest) -> JobAccepted:
        job_id = self.queue.enqueue(tenant, request)
        return JobAccepted(job_id=job_id, status=JobStatus.QUEUED, sessions=len(request.sessions))

    # ---- read and cancel ----------------------------------------------------------------------

    def get(self, tenant: str, job_id: str) -> JobView:
        view = self.store.get(tenant, job_id)
        return self._linked(view.model_copy(update={"cost": job_cost(view.sessions)}))

    def _linked(self, view: JobView) -> JobView:
        """Screenshots and artifacts are stored as s3:// keys; a reader gets short-lived links instead."""
        if self.presign is None or not any(s.screenshot_url or s.artifacts for s in view.sessions):
            return view
        presign = self.presign

        def link(url: str | None) -> str | None:
            return presign(url) if url and url.startswith("s3://") else url

        sessions = [
            s.model_copy(
                update={
                    "screenshot_url": link(s.screenshot_url),
                    "artifacts": [a.model_copy(update={"url": link(a.url)}) for a in s.artifacts],
                }
            )
            for s in view.sessions
        ]
        return view.model_copy(update={"sessions": sessions})

    def stored(self, tenant: str, job_id: str) -> JobView:
        """The job as stored (artifact URLs still s3://), for the API's redirect and report."""
        return self.store.get(tenant, job_id)

    def list(self, tenant: str, cursor: str | None, limit: int) -> JobList:
        return self.store.list_jobs(tenant, cursor, limit)

    def cancel(self, tenant: str, job_id: str) -> JobView:
        """One cancel (which checks the tenant, and changes nothing for another tenant's job) and one read.
        A job the cancel does not find may be archived: it ended long ago, and the read finds it there
        (or answers 404)."""
        with contextlib.suppress(JobNotFoundError):
            self.queue.cancel(tenant, job_id)
        return self.get(tenant, job_id)

    def health(self) -> HealthView:
        return self.store.health()
