"""The dead-letter stream, for operators: list it across tenants, and redrive sessions from it.

The reaper writes an entry (job, session index, tenant, reason, attempts, time) when a session ran out
of attempts; the session's result holds its last error. Redrive is one Lua script per entry
(lua/redrive.lua): the session is re-queued as a first attempt and its entry leaves the stream in the
same step, so redriving an entry twice queues it once.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import redis

from jobcore import keys
from jobcore.constants import DeadLetterReason
from jobcore.errors import InvalidRequestError
from jobcore.keys import EntryField as Field
from jobcore.lua_scripts import RedriveOutcome as Outcome
from jobcore.lua_scripts import load_script
from jobcore.masking import MASK
from jobcore.models import ErrorInfo, SessionResult
from jobcore.operator_models import DeadLetter, DeadLetterPage, RedriveOutcome, RedriveResult
from jobcore.queue import DEAD_LETTER_ERRORS
from jobcore.redis_conn import store_errors

SCAN_BATCH = 200
SCAN_MAX = 5000  # entries one listing reads at most; a sparse filter pages on with the cursor
ENTRY_ID_PATTERN = r"^\d{1,20}-\d{1,20}$"  # a stream entry id, as GET /dead-letters lists them


def _check_entry_id(entry_id: str, field: str) -> str:
    if not re.match(ENTRY_ID_PATTERN, entry_id):
        raise InvalidRequestError(
            f"{field}: {entry_id[:40]!r} is not a dead-letter id (like 1764213600000-0)"
        )
    return entry_id


class DeadLetters:
    def __init__(self, client: redis.Redis) -> None:
        self.r = client
        self._redrive = client.register_script(load_script("redrive"))

    def page(
        self,
        tenant: str | None = None,
        reason: DeadLetterReason | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> DeadLetterPage:
        """Newest first; `cursor` (the last id of the previous page) continues below it."""
        upper = f"({_check_entry_id(cursor, 'cursor')}" if cursor else "+"
        found: list[tuple[str, dict[str, str]]] = []
        scanned, last, exhausted = 0, None, False
        with store_errors():
            while len(found) < limit and scanned < SCAN_MAX and not exhausted:
                batch: list[tuple[str, dict[str, str]]] = self.r.xrevrange(  # type: ignore[assignment]
                    keys.DEAD_LETTER, upper, "-", count=SCAN_BATCH
                )
                exhausted = len(batch) < SCAN_BATCH
                for entry_id, fields in batch:
                    scanned += 1
                    last = entry_id
                    if (tenant is None or fields.get(Field.TENANT) == tenant) and (
                        reason is None or fields.get(Field.REASON) == reason.value
                    ):
                        found.append((entry_id, fields))
                        if len(found) == limit:
                            break
                upper = f"({last}"
            # a sparse filter may stop at SCAN_MAX with fewer than `limit`: the cursor goes on from there
            more = last is not None and bool(self.r.xrevrange(keys.DEAD_LETTER, f"({last}", "-", count=1))
            letters = self._describe(found)
        return DeadLetterPage(dead_letters=letters, next_cursor=last if more else None)

    def get(self, entry_id: str) -> DeadLetter | None:
        with store_errors():
            entries: list[tuple[str, dict[str, str]]] = self.r.xrange(  # type: ignore[assignment]
                keys.DEAD_LETTER, _check_entry_id(entry_id, "id"), entry_id
            )
            return self._describe(entries)[0] if entries else None

    def _describe(self, entries: list[tuple[str, dict[str, str]]]) -> list[DeadLetter]:
        """Each entry with its session's last error and URL, read in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for _, f in entries:
            pipe.hget(keys.results(f[Field.JOB]), f[Field.INDEX])
            pipe.hget(keys.specs(f[Field.JOB]), f[Field.INDEX])
        replies = pipe.execute()
        out = []
        for k, (entry_id, f) in enumerate(entries):
            result_json, spec_json = replies[2 * k], replies[2 * k + 1]
            reason = DeadLetterReason(f[Field.REASON])
            error = SessionResult.model_validate_json(result_json).error if result_json else None
            if error is None:  # the job's record expired: the reason's own error
                error_type, message = DEAD_LETTER_ERRORS[reason]
                error = ErrorInfo(type=error_type, message=message)
            out.append(
                DeadLetter(
                    id=entry_id,
                    job_id=f[Field.JOB],
                    session_index=int(f[Field.INDEX]),
                    tenant=f.get(Field.TENANT, ""),
                    attempts=int(f.get(Field.ATTEMPTS, 0)),
                    reason=reason,
                    error=error,
                    url=json.loads(spec_json).get("url", "") if spec_json else "",
                    dead_at=datetime.fromtimestamp(float(f[Field.AT]), UTC),
                )
            )
        return out

    def redrive(self, ids: list[str]) -> RedriveResult:
        """Re-queue each entry's session once, attempts reset, a note in its result history."""
        outcomes = []
        for entry_id in dict.fromkeys(_check_entry_id(i, "ids") for i in ids):
            letter = self.get(entry_id)
            note = {
                "at": datetime.now(UTC).isoformat(),
                "event": "redriven",
                "note": (
                    f"dead-lettered ({letter.reason.value}) after {letter.attempts} attempts, last error "
                    f"{letter.error.type.value}: {letter.error.message}; redriven by an operator, "
                    "attempts reset"
                    if letter is not None
                    else "redriven by an operator, attempts reset"
                ),
            }
            now = time.time()
            with store_errors():
                outcome, job_id, idx = self._redrive(
                    keys=[keys.DEAD_LETTER],
                    args=[entry_id, repr(now), int(now * 1000), MASK, json.dumps(note)],
                )
            outcomes.append(
                RedriveOutcome(
                    id=entry_id,
                    outcome=Outcome(outcome).value,
                    job_id=str(job_id) or None,
                    session_index=int(idx) if str(idx) else None,
                )
            )
        return RedriveResult(requeued=sum(o.outcome == Outcome.REQUEUED for o in outcomes), outcomes=outcomes)

    def matching_ids(self, tenant: str | None, reason: DeadLetterReason | None, limit: int) -> list[str]:
        """The newest `limit` entries a redrive filter names."""
        return [d.id for d in self.page(tenant, reason, limit).dead_letters]
