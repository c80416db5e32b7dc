"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.support.schemathesis_hooks) for the API run.

Generated session URLs name random hosts, which the egress guard rightly refuses (400), so no job
would ever be created and the stateful phase would have nothing to chain. Pointing every generated
URL at a loopback target the test allows lets POST /jobs succeed, and GET and DELETE follow it.
"""

from __future__ import annotations

from typing import Any

import schemathesis

TARGET = "http://127.0.0.1:9/generated"


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    sessions = body.get("sessions") if isinstance(body, dict) else None
    if isinstance(sessions, list):
        for session in sessions:
            if isinstance(session, dict) and isinstance(session.get("url"), str):
                session["url"] = TARGET
            if isinstance(session, dict) and isinstance(session.get("proxy"), dict):
                session["proxy"]["server"] = "http://127.0.0.1:9"
    return body
