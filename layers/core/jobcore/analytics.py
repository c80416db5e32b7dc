"""The one table of analytics collectors, and the parser that turns a request into a hit.

The worker's resource guards never block a request this module recognises, and
its analytics detection records what `detect` returns. Collectors are matched by
path pattern on any host (self-hosted Matomo/Plausible, server-side GTM, first-party
proxies, and the loopback fixture pages all use their own hosts); a bare `/collect`
path also needs Universal Analytics' `tid` parameter, so an unrelated `/collect`
endpoint is not taken for analytics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jobcore.models import AnalyticsHit

Params = dict[str, str]
Parser = Callable[[Params, Any], AnalyticsHit | None]


@dataclass(frozen=True)
class Collector:
    vendor: str
    path: re.Pattern[str]
    parse: Parser


def _first_params(text: str) -> Params:
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items() if v}


def _ga4(params: Params, body: Any) -> AnalyticsHit | None:
    # A GA4 POST body batches events, one query string per line; the first names the hit.
    if isinstance(body, str) and body.strip():
        first = _first_params(body.strip().splitlines()[0])
        params = {**params, **first}
    if "tid" not in params and "en" not in params:
        return None
    return AnalyticsHit(vendor="ga4", id=params.get("tid"), event=params.get("en"))


def _universal(params: Params, body: Any) -> AnalyticsHit | None:
    if isinstance(body, str) and "=" in body:
        params = {**params, **_first_params(body.strip().splitlines()[0])}
    if "tid" not in params:
        return None
    kind = params.get("t", "pageview")
    return AnalyticsHit(vendor="universal_analytics", id=params["tid"], event=params.get("ea") or kind)


def _gtm(params: Params, body: Any) -> AnalyticsHit | None:
    return AnalyticsHit(vendor="google_tag_manager", id=params.get("id"), event="gtm.js")


def _gtag(params: Params, body: Any) -> AnalyticsHit | None:
    return AnalyticsHit(vendor="gtag", id=params.get("id"), event="gtag.js")


def _segment(params: Params, body: Any) -> AnalyticsHit | None:
    data = body if isinstance(body, dict) else {}
    batch = data.get("batch")
    if isinstance(batch, list) and batch and isinstance(batch[0], dict):
        data = {**batch[0], "writeKey": data.get("writeKey")}
    event = data.get("event") or data.get("type")
    return AnalyticsHit(vendor="segment", id=_str_or_none(data.get("writeKey")), event=_str_or_none(event))


def _plausible(params: Params, body: Any) -> AnalyticsHit | None:
    data = body if isinstance(body, dict) else {}
    name = data.get("n") or data.get("name")
    domain = data.get("d") or data.get("domain")
    if name is None and domain is None:
        return None
    return AnalyticsHit(vendor="plausible", id=_str_or_none(domain), event=_str_or_none(name))


def _matomo(params: Params, body: Any) -> AnalyticsHit | None:
    if isinstance(body, str) and "=" in body:
        params = {**params, **_first_params(body.strip().splitlines()[0])}
    if "idsite" not in params:
        return None
    event = params.get("e_a") or ("pageview" if params.get("action_name") is not None else None)
    return AnalyticsHit(vendor="matomo", id=params["idsite"], event=event or "hit")


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)[:200]


# Order matters: the first collector whose path matches and whose parser accepts the request wins.
COLLECTORS: tuple[Collector, ...] = (
    Collector("ga4", re.compile(r"/g/collect$"), _ga4),
    Collector("universal_analytics", re.compile(r"(^|/)(r/|j/)?collect$"), _universal),
    Collector("google_tag_manager", re.compile(r"/gtm\.js$"), _gtm),
    Collector("gtag", re.compile(r"/gtag/js$"), _gtag),
    Collector("segment", re.compile(r"/v1/(t|p|i|g|a|b|track|page|identify|group|alias|batch)$"), _segment),
    Collector("plausible", re.compile(r"/api/event$"), _plausible),
    Collector("matomo", re.compile(r"/(matomo|piwik)\.php$"), _matomo),
)

# The same collectors as URL globs (`*` any run of characters), for the worker's request interception:
# only requests matching one of these are paused to be recorded; `detect` then decides.
COLLECTOR_URL_GLOBS: tuple[str, ...] = (
    "*/collect*", "*/gtm.js*", "*/gtag/js*", "*/v1/*", "*/api/event*", "*/matomo.php*", "*/piwik.php*",
)  # fmt: skip

_MAX_BODY = 64 * 1024


def _decode_body(post_data: str | bytes | None) -> Any:
    if post_data is None:
        return None
    text = post_data.decode("utf-8", "replace") if isinstance(post_data, bytes) else post_data
    text = text[:_MAX_BODY]
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text


def is_collector_path(url: str) -> bool:
    """Cheap check used by the resource guards: could this URL be an analytics collector?"""
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return any(c.path.search(path) for c in COLLECTORS)


def detect(url: str, method: str = "GET", post_data: str | bytes | None = None) -> AnalyticsHit | None:
    """The analytics hit a request carries, or None when it is not a collector request."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    matching = [c for c in COLLECTORS if c.path.search(parts.path)]
    if not matching:
        return None
    params = _first_params(parts.query)
    body = _decode_body(post_data) if method.upper() in ("POST", "PUT") else None
    for collector in matching:
        hit = collector.parse(params, body)
        if hit is not None:
            return hit
    return None
