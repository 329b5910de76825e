"""The HTTP client this app uses to talk to identity providers: one per app (its TLS
context and connection pool are reused), built on first use, never at import."""

from __future__ import annotations

import threading

import httpx
from fastapi import Request

from medsign.identity.protocol import Http
from medsign.web.deps import runtime

_lock = threading.Lock()


def idp_http(request: Request) -> Http:
    """The app's provider client, with ``MEDSIGN_IDP_TIMEOUT_SECONDS``."""
    state = request.app.state
    with _lock:
        found = getattr(state, "idp_http", None)
        if found is None:
            timeout = runtime(request).settings.idp_timeout_seconds
            # No redirects: a provider's endpoints answer themselves (Discovery §4).
            found = Http(httpx.Client(follow_redirects=False, trust_env=False), timeout)
            state.idp_http = found
    assert isinstance(found, Http)
    return found
