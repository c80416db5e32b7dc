"""The egress proxy's refusals, as a session's error: the proxy recorded why it refused, in its own words.

The browser only sees a failed tunnel, an empty response or the proxy's refusal page; the session's
egress records each refusal (`EgressSession.refusals`), and these map what the page shows to it.
"""

from __future__ import annotations

from playwright.async_api import Response

from jobcore.errors import ErrorType, TargetBlockedError
from jobcore.models import ErrorInfo
from jobcore.urlguard import parse_target
from worker.egress_proxy import EgressSession
from worker.error_mapping import from_type
from worker.http_wire import EGRESS_HEADER

# Tunnel and proxy failures: the egress proxy refused or could not connect, and recorded why.
_EGRESS_NET_ERRORS = frozenset({
    "ERR_TUNNEL_CONNECTION_FAILED", "ERR_PROXY_CONNECTION_FAILED", "ERR_EMPTY_RESPONSE",
    "ERR_CONNECTION_CLOSED", "ERR_CONNECTION_RESET",
})  # fmt: skip


def failed_navigation(egress: EgressSession | None, net_error: str | None) -> ErrorInfo | None:
    """A navigation failed at the proxy: the refusal it recorded says why."""
    if egress is None or net_error not in _EGRESS_NET_ERRORS:
        return None
    refusal = egress.last_refusal()
    return None if refusal is None else from_type(refusal.error_type, refusal.reason)


def refused_response(egress: EgressSession | None, response: Response | None) -> ErrorInfo | None:
    """The main document is the proxy's own refusal page (plain HTTP): report it, not an HTTP error."""
    if response is None or egress is None:
        return None
    kind = response.headers.get(EGRESS_HEADER.lower())  # no round trip: the header is the proxy's own
    if kind is None:
        return None
    refusal = egress.last_refusal()
    if refusal is not None:
        return from_type(refusal.error_type, refusal.reason)
    return from_type(ErrorType.BLOCKED_TARGET, f"refused by the egress proxy ({kind})")


def left_for_refused(egress: EgressSession | None, url: str) -> ErrorInfo | None:
    """A script, a meta refresh or a form took the page (now at `url`) somewhere the proxy refused."""
    if egress is None or not egress.refusals:
        return None
    if url.startswith("chrome-error://"):
        refusal = egress.last_refusal()
    else:
        try:
            target = parse_target(url)
        except TargetBlockedError:
            return None
        if (target.host, target.port) not in egress.refused_hosts():
            return None
        refusal = egress.last_refusal(target.host)
    return None if refusal is None else from_type(refusal.error_type, refusal.reason)
