"""Package layering that the outbox exists to keep (DESIGN.md "Architecture")."""

from __future__ import annotations

import ast
from pathlib import Path

import medsign

SRC = Path(medsign.__file__).parent


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every ``medsign`` module each module of ``package`` imports (top level, inside
    functions or under ``TYPE_CHECKING``: the AST sees them all)."""
    found: dict[str, set[str]] = {}
    for path in sorted((SRC / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(SRC))] = {n for n in names if n.startswith("medsign")}
    return found


def test_the_walk_sees_imports() -> None:
    # the check below would pass vacuously if the walk found nothing
    assert "medsign.jobs.outbox" in imported_modules("events")["events/service.py"]
    assert "medsign.events.models" in imported_modules("webhooks")["webhooks/fanout.py"]


def test_events_never_import_webhooks() -> None:
    offending = {
        module: sorted(n for n in names if n.startswith("medsign.webhooks"))
        for module, names in imported_modules("events").items()
    }
    assert {m: n for m, n in offending.items() if n} == {}


def test_jobs_import_no_feature_but_in_the_handler_table() -> None:
    # jobs/ is below the features; only handlers.py (the composition point) and the
    # process pool's initializer (which calls it) reach up.
    features = ("medsign.envelopes", "medsign.webhooks", "medsign.evidence", "medsign.audit")
    offending = {
        module: sorted(n for n in names if n.startswith(features))
        for module, names in imported_modules("jobs").items()
        if module != "jobs/handlers.py"
    }
    assert {m: n for m, n in offending.items() if n} == {}


def test_envelopes_never_import_the_features_that_follow_them() -> None:
    # a telemedicine consent books a held slot through a follow_up job
    # (envelopes.workflow.follow_up), never by calling into schedule
    followers = ("medsign.schedule", "medsign.appointments", "medsign.cabinet")
    offending = {
        module: sorted(n for n in names if n.startswith(followers))
        for module, names in imported_modules("envelopes").items()
    }
    assert {m: n for m, n in offending.items() if n} == {}


def test_the_network_guards_import_no_feature() -> None:
    # medsign.net sits below every feature that calls out (webhooks, external): both use
    # it, neither is imported by it
    assert "medsign.net.ssrf" in imported_modules("net")["net/guarded_http.py"]
    offending = {
        module: sorted(n for n in names if not n.startswith("medsign.net"))
        for module, names in imported_modules("net").items()
    }
    assert {m: n for m, n in offending.items() if n} == {}
