"""The egress corpus: every way we know for a tenant's session to reach an address the policy denies.

Shared by the submit-time tests (`SPELLINGS`, `PROXY_SERVERS`: the API and
`jobcore.urlguard` refuse them) and the run-time test (`RUNTIME`: a page on the
allowed host tries each, and the canaries count connections). Placeholders:
{SITE} the allowed site's origin, {SP} its port; {C2}/{C3}/{C6} canary origins on
127.0.0.2, 127.0.0.3 and [::1] (ports {P2}, {P3}, {P6}); {W3} the ws:// origin of
the 127.0.0.3 canary; names come from the test's DNS server
(canary.test → 127.0.0.2, xn--evil-yna.test (evilß.test) → 127.0.0.2,
rebind.test → 127.0.0.1 then 127.0.0.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# ---- submit time: URL spellings and proxy strings --------------------------------------------------

# (URL, a word the refusal's reason contains), with only 127.0.0.1 allowed.
SPELLINGS: list[tuple[str, str]] = [
    ("http://127.0.0.2/", "loopback"),
    ("http://0177.0.0.2/", "loopback"),
    ("http://2130706434/", "loopback"),
    ("http://0x7f.0.0.2/", "loopback"),
    ("http://0x7f000002/", "loopback"),
    ("http://127.2/", "loopback"),
    ("http://127.0.2/", "loopback"),
    ("http://127.0.0.2./", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.2]/", "loopback"),
    ("http://[::127.0.0.2]/", "loopback"),
    ("http://[64:ff9b::7f00:2]/", "loopback"),
    ("http://[::]/", "unspecified"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://169.254.43518/", "metadata"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://metadata.google.internal/", "metadata"),
    ("http://10.0.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://100.64.0.1/", "CGNAT"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::1%25lo]/", "zone"),
    ("http://[fc00::1]/", "unique-local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://127.0.0.1@127.0.0.2/", "loopback"),
    ("http://127.0.0.2#@127.0.0.1/", "loopback"),
    ("http://127.0.0.1\\@127.0.0.2/", "backslash"),
    ("http:\\\\127.0.0.2\\", "backslash"),
    ("http://127.0.0.\t2/", "whitespace"),
    ("http://127.0.0.2\n/", "whitespace"),
    ("http://127.0.0.%32/", "percent"),
    ("http:///127.0.0.2/", "no host"),
    ("http:////127.0.0.2/", "no host"),
    ("http://evilß.test/", "resolved"),  # xn--evil-yna.test: not in this test's DNS
    ("http://０x7f.0.0.2/", "loopback"),  # fullwidth: UTS-46 maps it onto an IPv4 spelling
    ("ftp://127.0.0.1/", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("http://256.1.1.1/", "out-of-range"),
]

# A session's proxy.server: refused by the model (400) before anything else.
PROXY_SERVERS: list[str] = [
    "x=y;http=127.0.0.2:8080",
    "http://x=y;http=evil.test:8080",
    "http://127.0.0.1:8080;http=127.0.0.2:8080",
    "http://127.0.0.1:8080,127.0.0.2:8080",
    "http://127.0.0.1:8080 127.0.0.2:8080",
    "http://user:pass@127.0.0.1:8080",
    "http://127.0.0.1:8080/path",
    "http://127.0.0.1",
    "127.0.0.1:8080",
    "direct://",
    "quic://127.0.0.1:443",
    "http://0177.0.0.1:8080",
]


# ---- run time: pages that try -----------------------------------------------------------------------


@dataclass(frozen=True)
class Vector:
    name: str
    kind: (
        str  # "page": HTML at /v/NAME; "redirect": CODE + Location; "refresh": Refresh header; "start": a URL
    )
    body: str
    code: int = 302
    scripts: dict[str, str] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    wait_ms: int = 0
    # False where something other than the egress guard stops it too (noted), so the unguarded run
    # cannot show it reaching a canary.
    reaches_unguarded: bool = True


_WAIT = 600
_REDIRECT_LOCATIONS = {
    "absolute": "{C2}/abs",
    "scheme-relative": "//127.0.0.2:{P2}/rel",
    "triple-slash": "http:///127.0.0.2:{P2}/t",
    "quad-slash": "////127.0.0.2:{P2}/q",
    "userinfo": "http://127.0.0.1:{SP}@127.0.0.2:{P2}/u",
    "fragment": "http://127.0.0.2:{P2}#@127.0.0.1:{SP}/",
    "backslash": "http:\\\\127.0.0.2:{P2}\\b",
    "tab": "http://127.0.0.\t2:{P2}/tab",
    "percent": "http://127.0.0.%32:{P2}/pct",
    "octal": "http://0177.0.0.2:{P2}/o",
    "decimal": "http://2130706434:{P2}/d",
    "hex": "http://0x7f.0.0.2:{P2}/h",
    "short": "http://127.2:{P2}/s",
    "trailing-dot": "http://127.0.0.2.:{P2}/dot",
    "mapped-v6": "http://[::ffff:127.0.0.2]:{P2}/m",
    "ipv6-loopback": "{C6}/v6",
    "name-to-denied": "http://canary.test:{P2}/n",
    "idn": "http://evilß.test:{P2}/idn",
}

RUNTIME: list[Vector] = [
    *(Vector(f"redirect-{code}", "redirect", "{C2}/r", code=code) for code in (301, 302, 303, 307, 308)),
    *(Vector(f"location-{name}", "redirect", loc) for name, loc in _REDIRECT_LOCATIONS.items()),
    Vector("refresh-header", "refresh", "{C3}/refresh"),
    Vector("meta-refresh", "page", '<meta http-equiv="refresh" content="0;url={C3}/meta">'),
    Vector("js-navigation", "page", '<script>location.href = "{C6}/js";</script>', wait_ms=_WAIT),
    Vector(
        "form-post",
        "page",
        '<form id=f method=post action="{C2}/form"><input name=a value=1></form>'
        "<script>document.getElementById('f').submit()</script>",
        wait_ms=_WAIT,
    ),
    Vector("img", "page", '<img src="{C2}/i.png">'),
    Vector("script", "page", '<script src="{C3}/s.js"></script>'),
    Vector("css", "page", '<link rel=stylesheet href="{C6}/s.css">'),
    Vector("css-import", "page", '<style>@import url("{C2}/i.css");</style>'),
    Vector(
        "font",
        "page",
        "<style>@font-face{font-family:X;src:url({C3}/f.woff2)} p{font-family:X}</style><p>text</p>",
    ),
    Vector("fetch", "page", '<script>fetch("{C2}/f").catch(() => {});</script>', wait_ms=_WAIT),
    Vector(
        "xhr",
        "page",
        '<script>const x = new XMLHttpRequest(); x.open("GET", "{C3}/x"); x.send();</script>',
        wait_ms=_WAIT,
    ),
    Vector("beacon", "page", '<script>navigator.sendBeacon("{C6}/b", "x");</script>', wait_ms=_WAIT),
    Vector("eventsource", "page", '<script>new EventSource("{C2}/es");</script>', wait_ms=_WAIT),
    Vector("websocket", "page", '<script>new WebSocket("{W3}/ws");</script>', wait_ms=_WAIT),
    Vector("iframe", "page", '<iframe src="{C6}/frame"></iframe>'),
    Vector("prefetch", "page", '<link rel=prefetch href="{C2}/pf">', wait_ms=_WAIT),
    # Speculation rules, same-site (the page comes from spec.test, the rules name c3.spec.test, which the
    # test's DNS answers with 127.0.0.3): this Chromium fetches nothing for them here, guard or not (tried
    # cross-site too). Kept guarded: should a later Chromium act on them, the request meets the proxy.
    Vector(
        "speculation-prefetch", "start", "http://spec.test:{SP}/v/speculation-page", reaches_unguarded=False
    ),
    Vector(
        "speculation-prerender", "start", "http://spec.test:{SP}/v/prerender-page", reaches_unguarded=False
    ),
    Vector("idn-subresource", "page", '<img src="http://evilß.test:{P2}/idn.png">'),
    Vector("name-subresource", "page", '<img src="http://canary.test:{P2}/n.png">'),
    Vector(
        "dedicated-worker-fetch",
        "page",
        '<script>new Worker("/js/fetch");</script>',
        scripts={"fetch": 'fetch("{C2}/wf").catch(() => {});'},
        wait_ms=_WAIT,
    ),
    Vector(
        "dedicated-worker-websocket",
        "page",
        '<script>new Worker("/js/ws");</script>',
        scripts={"ws": 'new WebSocket("{W3}/wws");'},
        wait_ms=_WAIT,
    ),
    Vector(
        "shared-worker-fetch",
        "page",
        '<script>new SharedWorker("/js/sfetch");</script>',
        scripts={"sfetch": 'fetch("{C3}/swf").catch(() => {});'},
        wait_ms=_WAIT,
    ),
    Vector(
        "shared-worker-websocket",
        "page",
        '<script>new SharedWorker("/js/sws");</script>',
        scripts={"sws": 'new WebSocket("{W3}/sws");'},
        wait_ms=_WAIT,
    ),
    Vector(
        "shared-worker-redirect",
        "page",
        '<script>new SharedWorker("/js/sredir");</script>',
        scripts={"sredir": 'fetch("/r/302/absolute").catch(() => {});'},
        wait_ms=_WAIT,
    ),
    Vector(
        "popup-click",
        "page",
        '<a id=go href="{C2}/pop" target=_blank>go</a>',
        steps=[{"action": "click", "selector": "#go"}],
        wait_ms=_WAIT,
    ),
    Vector(
        "popup-redirect",
        "page",
        '<a id=go href="/r/302/absolute" target=_blank>go</a>',
        steps=[{"action": "click", "selector": "#go"}],
        wait_ms=_WAIT,
    ),
    Vector(
        "popup-form",
        "page",
        '<form id=f target=_blank method=post action="/r/307/absolute"><button id=go>go</button></form>',
        steps=[{"action": "click", "selector": "#go"}],
        wait_ms=_WAIT,
    ),
    Vector(
        "window-open",
        "page",
        "<button id=go onclick=\"window.open('{C3}/wo')\">go</button>",
        steps=[{"action": "click", "selector": "#go"}],
        wait_ms=_WAIT,
    ),
    # The context blocks service workers (Playwright's service_workers="block"): the registration fails
    # before any request, guard or not.
    Vector(
        "service-worker",
        "page",
        '<script>navigator.serviceWorker.register("/js/sw");</script>',
        scripts={"sw": 'fetch("{C2}/sw");'},
        wait_ms=_WAIT,
        reaches_unguarded=False,
    ),
    # DNS rebinding: the page comes from rebind.test (127.0.0.1), then asks the same name again, whose
    # next answer is 127.0.0.2, where a canary listens on the site's port. The session's pinned answer holds.
    Vector("rebinding", "start", "http://rebind.test:{SP}/v/rebind-page"),
]

SPECULATION_PAGES = {
    "speculation-page": '<script type="speculationrules">'
    '{"prefetch": [{"source": "list", "urls": ["http://c3.spec.test:{P3}/sp"]}]}</script>',
    "prerender-page": '<script type="speculationrules">'
    '{"prerender": [{"source": "list", "urls": ["http://c3.spec.test:{P3}/pr"]}]}</script>',
}

REBIND_PAGE = (
    "<script>for (let i = 0; i < 3; i++)"
    " fetch('http://rebind.test:{SP}/again?' + i).catch(() => {});</script>"
)


def fill(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template
