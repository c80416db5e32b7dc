"""Every limit and default of the job contract, in one place: what a spec may ask, and what a result keeps.

The models, the API's error messages, the worker, the docs and the tests read these names; none of them
spells the numbers again. (Tuning knobs an operator sets per deployment are settings, not limits.)
"""

from typing import Final

MAX_SESSIONS_PER_JOB: Final = 500
MAX_STEPS_PER_SESSION: Final = 20
MAX_URL_LENGTH: Final = 2048
MIN_TIMEOUT_S: Final = 1
MAX_TIMEOUT_S: Final = 120
DEFAULT_TIMEOUT_S: Final = 30
MAX_BODY_BYTES: Final = 256 * 1024
MAX_JSON_DEPTH: Final = 32  # a job nests 5 levels; a parser recurses once per level
MAX_LABELS: Final = 20
MAX_LABEL_LENGTH: Final = 128
MAX_SELECTOR_LENGTH: Final = 512
MAX_STEP_TEXT_LENGTH: Final = 2048
MAX_STEP_WAIT_MS: Final = 30_000
DEFAULT_STEP_TIMEOUT_MS: Final = 10_000  # a step without timeout_ms, bounded by the session's time left
MAX_VIEWPORT_SIDE: Final = 4096
MAX_TLS_MIN_DAYS_LEFT: Final = 3650  # expect.tls.min_days_left: ten years covers any certificate
MIN_VIEWPORT_SIDE: Final = 64
DEFAULT_BLOCKED_TYPES: Final = ("image", "media", "font")
DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024
MAX_MAX_BYTES: Final = 100 * 1024 * 1024
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255
IDEMPOTENCY_TTL_S: Final = 24 * 3600
# While another tenant waits, no tenant gets more than this share of the live fleet's slots (and never
# all of them): with 4 slots a tenant keeps 3, with 40 it keeps 30, and a waiting tenant gets the rest.
DEFAULT_TENANT_MAX_SHARE: Final = 0.75
# What a result keeps of what a page says: the first console errors, each cut to this many characters,
# and the first refused connections.
MAX_CONSOLE_ERRORS: Final = 20
MAX_CONSOLE_TEXT: Final = 500
MAX_REFUSALS_KEPT: Final = 50
MAX_PAGE_SIZE: Final = 100
DEFAULT_PAGE_SIZE: Final = 20
# What a session should cost (the seed's resource guards), and where the bandwidth alarm fires.
BANDWIDTH_TARGET_BYTES: Final = 300 * 1024
BANDWIDTH_ALARM_BYTES: Final = 350 * 1024
# Evidence of a session (SessionSpec.artifacts): past a cap the artifact is skipped and the result says so.
MAX_ARTIFACT_BYTES_PER_SESSION: Final = 20 * 1024 * 1024
MAX_ARTIFACT_BYTES_PER_JOB: Final = 500 * 1024 * 1024
MAX_CONSOLE_LINES: Final = 500
MAX_CONSOLE_LINE_CHARS: Final = 2000
MAX_DOM_BYTES: Final = 2 * 1024 * 1024
# A warm tab (isolation "tab") is closed and replaced after this many sessions, wiped or not: whatever a
# wipe might miss lives at most this long, and a long-lived renderer's memory is bounded.
MAX_SESSIONS_PER_TAB: Final = 100
# The API's report embeds failed sessions' screenshots up to this many bytes (a Lambda answer is ≤ 6 MB).
MAX_REPORT_EMBEDDED_BYTES: Final = 3 * 1024 * 1024

# Recurring checks and webhooks.
MAX_CHECKS_PER_TENANT: Final = 100
MIN_CHECK_INTERVAL_S: Final = 60  # the shortest schedule a check may have
MAX_CHECK_NAME_LENGTH: Final = 128
CHECK_RUNS_KEPT: Final = 50  # run history per check, newest first
MAX_AFTER_FAILURES: Final = 10
MAX_WEBHOOKS_PER_TENANT: Final = 20
MAX_WEBHOOKS_PER_CHECK: Final = 5
WEBHOOK_TIMEOUT_S: Final = 10.0  # per delivery attempt: connect + answer
WEBHOOK_RETRY_WINDOW_S: Final = 24 * 3600  # retried this long after the first attempt, then dead-lettered
WEBHOOK_BACKOFF_BASE_S: Final = 30.0  # first retry after ~30 s, doubling, with jitter
WEBHOOK_BACKOFF_CAP_S: Final = 3600.0
WEBHOOK_DELIVERIES_KEPT: Final = 100  # per webhook, newest first (GET /webhooks/{id}/deliveries)
WEBHOOK_SIGNATURE_TOLERANCE_S: Final = 300  # receivers should refuse older timestamps (replays)
DELIVERY_BATCH: Final = 50  # deliveries one sender pass takes

# Analytics verification: the hit ledger, assertions and bounded regexes.
MAX_LEDGER_ENTRIES: Final = 200  # entries a result keeps; `analytics_dropped` counts the rest
MAX_HIT_PARAMS: Final = 60  # parameters kept per ledger entry
MAX_PARAM_VALUE_LENGTH: Final = 200
MAX_REGEX_LENGTH: Final = 200
MAX_ANALYTICS_RULES: Final = 50  # tags, events, request assertions or collector patterns, each
MAX_RECORDED_REQUESTS: Final = 2000  # requests a session remembers for `expect.requests`
MAX_WITHIN_MS: Final = 120_000
ANALYTICS_SETTLE_MS: Final = 300  # after the flush, how long stragglers may still arrive for negative rules
