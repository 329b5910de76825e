"""The Content-Security-Policy of medsign's pages (W3C CSP Level 3)."""

from __future__ import annotations

from urllib.parse import urlsplit

# Pages load only our own files: no external fonts, scripts or trackers (DESIGN.md).
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
    "img-src 'self' data: blob:; style-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def csp_allowing_form_target(*urls: str) -> str:
    """:data:`CSP` with the origins of ``urls`` added to ``form-action``: a form whose
    answer redirects there (the "Sign with <provider>" and "Log in with <provider>"
    buttons) is otherwise blocked, since browsers apply form-action to redirects too
    (CSP3 §6.4.1)."""
    origins = dict.fromkeys(f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls))
    return CSP.replace("form-action 'self'", " ".join(["form-action 'self'", *origins]))
