"""The one table of analytics collectors and tag scripts, and the parser that turns a request into hits.

Collectors are matched by path on any host (region1 GA4, server-side tagging, self-hosted
Matomo/Plausible, first-party proxies and the loopback fixture pages all use their own hosts);
a bare `/collect` also needs Universal Analytics' `tid`, so an unrelated `/collect` endpoint
is not taken for analytics. One request may carry many hits (a GA4 POST batches events one
per line, Segment and Matomo batch too): every one becomes a hit. Tag scripts (gtm.js,
gtag/js, fbevents.js …) are recognised separately: they always load from the network.

`collector_url_patterns` gives the same table as CDP Fetch `urlPattern` globs, for a network
path that pauses only the requests it must act on.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from jobcore import limits
from jobcore.analytics_models import AnalyticsHit, ParamValue
from jobcore.masking import MASK, mask_text

Params = dict[str, str]


@dataclass(frozen=True)
class RawHit:
    vendor: str
    id: str | None
    event: str | None
    params: dict[str, ParamValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Collected:
    """What a recognised request is: hits to answer (`collector`) or a tag script to let load (`tag`)."""

    kind: Literal["collector", "tag"]
    hits: tuple[RawHit, ...]


Parser = Callable[[Params, Any], list[RawHit]]


@dataclass(frozen=True)
class Collector:
    vendor: str
    path: re.Pattern[str]
    parse: Parser
    globs: tuple[str, ...]  # CDP urlPattern globs that pause at least every URL `path` matches


def _qs(text: str) -> Params:
    return dict(parse_qsl(text, keep_blank_values=True))


def _lines(body: Any) -> list[Params]:
    if not isinstance(body, str) or "=" not in body:
        return []
    return [_qs(line) for line in body.strip().splitlines() if line.strip()][: limits.MAX_LEDGER_ENTRIES]


def _ga4_params(params: Params) -> dict[str, ParamValue]:
    # GA4 sends event parameters as ep.<name> (text) and epn.<name> (number); rules use the plain names.
    out: dict[str, ParamValue] = dict(params)
    for key, value in params.items():
        if key.startswith("ep."):
            out.setdefault(key[3:], value)
        elif key.startswith("epn."):
            out.setdefault(key[4:], _number(value))
    return out


def _number(value: str) -> ParamValue:
    try:
        return float(value)
    except ValueError:
        return value


def _ga4(params: Params, body: Any) -> list[RawHit]:
    events = [{**params, **line} for line in _lines(body)] or [params]
    return [
        RawHit("ga4", e.get("tid"), e.get("en"), _ga4_params(e)) for e in events if "tid" in e or "en" in e
    ]


def _universal(params: Params, body: Any) -> list[RawHit]:
    hits = [{**params, **line} for line in _lines(body)] or [params]
    return [
        RawHit("universal_analytics", h["tid"], h.get("ea") or h.get("t", "pageview"), dict(h))
        for h in hits
        if "tid" in h
    ]


def _segment(params: Params, body: Any) -> list[RawHit]:
    data = body if isinstance(body, dict) else {}
    batch = data.get("batch")
    items = [b for b in batch if isinstance(b, dict)] if isinstance(batch, list) else [data]
    key = _text(data.get("writeKey"))
    return [
        RawHit("segment", _text(i.get("writeKey")) or key, _text(i.get("event") or i.get("type")), _flat(i))
        for i in items[: limits.MAX_LEDGER_ENTRIES]
    ]


def _plausible(params: Params, body: Any) -> list[RawHit]:
    data = body if isinstance(body, dict) else {}
    name = data.get("n") or data.get("name")
    domain = data.get("d") or data.get("domain")
    if name is None and domain is None:
        return []
    return [RawHit("plausible", _text(domain), _text(name), _flat(data))]


def _matomo(params: Params, body: Any) -> list[RawHit]:
    lines = _lines(body)
    if isinstance(body, dict) and isinstance(body.get("requests"), list):  # the bulk API
        lines = [_qs(str(r).lstrip("?")) for r in body["requests"][: limits.MAX_LEDGER_ENTRIES]]
    hits = [{**params, **line} for line in lines] or [params]
    return [
        RawHit("matomo", h["idsite"], h.get("e_a") or ("pageview" if "action_name" in h else "hit"), dict(h))
        for h in hits
        if "idsite" in h
    ]


def _meta_pixel(params: Params, body: Any) -> list[RawHit]:
    merged = {**params, **(_lines(body)[0] if _lines(body) else {})}
    if "id" not in merged or "ev" not in merged:
        return []
    return [RawHit("meta_pixel", merged["id"], merged["ev"], dict(merged))]


def _custom(params: Params, body: Any) -> list[RawHit]:
    data = {**params, **(_flat(body) if isinstance(body, dict) else _lines(body)[0] if _lines(body) else {})}
    ident = data.get("id") or data.get("tid")
    event = data.get("en") or data.get("event") or data.get("e") or data.get("ev") or "hit"
    return [RawHit("custom", _text(ident), _text(event), data)]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[: limits.MAX_PARAM_VALUE_LENGTH]


def _flat(data: dict[str, Any]) -> dict[str, ParamValue]:
    """Scalars at the top level and one level down (Segment's properties, Plausible's props)."""
    out: dict[str, ParamValue] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, (str, int, float)) and not isinstance(inner, bool):
                    out.setdefault(str(sub), inner if isinstance(inner, str) else float(inner))
                    out[f"{key}.{sub}"] = inner if isinstance(inner, str) else float(inner)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            out[str(key)] = value if isinstance(value, str) else float(value)
    return out


_SEGMENT_CALLS = ("t", "p", "i", "g", "a", "b", "track", "page", "identify", "group", "alias", "batch")

# Order matters: the first collector whose path matches and whose parser finds a hit wins.
COLLECTORS: tuple[Collector, ...] = (
    Collector("ga4", re.compile(r"/g/collect$"), _ga4, ("*/g/collect*",)),
    Collector(
        "universal_analytics",
        re.compile(r"(^|/)(r/|j/)?(collect|batch)$"),
        _universal,
        ("*/collect*", "*/batch*"),
    ),
    Collector(
        "segment",
        re.compile(rf"/v1/({'|'.join(_SEGMENT_CALLS)})$"),
        _segment,
        tuple(g for call in _SEGMENT_CALLS for g in (f"*/v1/{call}", f"*/v1/{call}\\?*")),
    ),
    Collector("plausible", re.compile(r"/api/event$"), _plausible, ("*/api/event*",)),
    Collector("matomo", re.compile(r"/(matomo|piwik)\.php$"), _matomo, ("*/matomo.php*", "*/piwik.php*")),
    Collector("meta_pixel", re.compile(r"/tr/?$"), _meta_pixel, ("*/tr", "*/tr/*", "*/tr\\?*")),
)

# Tag scripts: (vendor, path pattern, where the id is). They load from the network, always.
_TAG_SCRIPTS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("google_tag_manager", re.compile(r"/gtm\.js$"), "query:id"),
    ("gtag", re.compile(r"/gtag/js$"), "query:id"),
    ("meta_pixel", re.compile(r"/fbevents\.js$"), ""),
    ("segment", re.compile(r"/analytics\.js/v1/([^/]+)/analytics(\.min)?\.js$"), "path"),
    ("matomo", re.compile(r"/(matomo|piwik)\.js$"), ""),
    ("plausible", re.compile(r"/js/(plausible|script)[\w.-]*\.js$"), ""),
)

_MAX_BODY = 64 * 1024
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


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


def tag_script(url: str) -> RawHit | None:
    """The tag a script URL loads (gtm.js?id=GTM-X → google_tag_manager GTM-X), or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    for vendor, pattern, where in _TAG_SCRIPTS:
        found = pattern.search(parts.path)
        if found is None:
            continue
        ident = (
            _qs(parts.query).get("id") if where == "query:id" else found.group(1) if where == "path" else None
        )
        return RawHit(vendor, _text(ident), parts.path.rsplit("/", 1)[-1] if vendor != "gtag" else "gtag.js")
    return None


def parse_request(
    url: str,
    method: str = "GET",
    post_data: str | bytes | None = None,
    resource_type: str = "other",
    custom: Sequence[str] = (),
) -> Collected | None:
    """What a request is to analytics: collector hits, a tag script load, or None (neither).

    Pure: the worker calls it for each request its network path pauses or observes. The resource
    type is accepted for the callers' sake (an image pixel is a collector like a beacon): the
    verdict never depends on it.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    tag = tag_script(url)
    if tag is not None:
        return Collected("tag", (tag,))
    params = _qs(parts.query)
    body = _decode_body(post_data) if method.upper() in ("POST", "PUT") else None
    for collector in COLLECTORS:
        if collector.path.search(parts.path):
            hits = collector.parse(params, body)
            if hits:
                return Collected("collector", tuple(hits))
    if any(fnmatch.fnmatchcase(url, glob) for glob in custom):
        return Collected("collector", tuple(_custom(params, body)))
    return None


def collector_url_patterns(custom: Iterable[str] = ()) -> list[str]:
    """CDP Fetch `urlPattern` globs that pause every collector request (a superset: a paused request
    that `parse_request` does not recognise simply continues). Tag scripts are not among them."""
    globs = [g for c in COLLECTORS for g in c.globs]
    return list(dict.fromkeys([*globs, *custom]))


def mask_params(params: dict[str, ParamValue], secrets: Sequence[str]) -> dict[str, ParamValue]:
    """Capped (count and length) and masked: e-mail addresses and the session's secrets become ***."""
    out: dict[str, ParamValue] = {}
    for key, value in list(params.items())[: limits.MAX_HIT_PARAMS]:
        if isinstance(value, str):
            out[key[:128]] = _EMAIL_RE.sub(MASK, mask_text(value, list(secrets)))[
                : limits.MAX_PARAM_VALUE_LENGTH
            ]
        else:
            out[key[:128]] = value
    return out


def detect(url: str, method: str = "GET", post_data: str | bytes | None = None) -> AnalyticsHit | None:
    """The first hit a request carries (collector or tag script), or None."""
    found = parse_request(url, method, post_data)
    if found is None:
        return None
    hit = found.hits[0]
    return AnalyticsHit(vendor=hit.vendor, id=hit.id, event=hit.event, params=mask_params(hit.params, ()))
