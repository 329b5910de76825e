"""Branches and branch-scoped tokens (issue [integration] item 1, DESIGN.md "Domain").

The isolation matrix: a branch token touching another branch's object gets 404 on
every endpoint (documents, envelopes and their signer actions, listing, webhooks,
tokens), never 403 and never the object; an organization token sees everything; a
branch webhook subscription receives only its branch's envelope events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.pdfs import make_pdf
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.worker import drain, fan_out

Headers = dict[str, str]


def bearer(token: str) -> Headers:
    """Auth headers for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def new_branch(client: TestClient, org: Headers, name: str) -> str:
    """Create a branch; return its id."""
    res = client.post("/api/v1/branches", headers=org, json={"name": name})
    assert res.status_code == 201, res.text
    branch_id: str = res.json()["id"]
    return branch_id


def branch_token(client: TestClient, org: Headers, branch_id: str, name: str = "b") -> Headers:
    """Issue a token of ``branch_id``; return its auth headers."""
    res = client.post("/api/v1/tokens", headers=org, json={"name": name, "branch_id": branch_id})
    assert res.status_code == 201, res.text
    assert res.json()["branch_id"] == branch_id
    return bearer(res.json()["token"])


@dataclass
class World:
    """One organization with branches A and B, a token for each, and objects in each."""

    org: Headers
    branch_a: str
    branch_b: str
    token_a: Headers
    token_b: Headers
    doc_a: dict[str, Any]
    doc_b: dict[str, Any]
    doc_org: dict[str, Any]
    env_a: dict[str, Any]
    env_b: dict[str, Any]
    webhook_b: dict[str, Any]


@pytest.fixture
def world(client: TestClient, rt: Runtime) -> Iterator[World]:
    """Branches A and B with a document, an envelope and a webhook each (B's has a
    delivery in its log)."""
    rt.settings.webhook_allow_private = True
    _, org = new_org(rt)
    branch_a = new_branch(client, org, "Branch A")
    branch_b = new_branch(client, org, "Branch B")
    token_a = branch_token(client, org, branch_a, "A sync")
    token_b = branch_token(client, org, branch_b, "B sync")
    res = client.post(
        "/api/v1/webhooks",
        headers=token_b,
        json={"url": "http://127.0.0.1:9/hook", "events": ["*"]},
    )
    assert res.status_code == 201, res.text
    webhook_b = res.json()
    assert webhook_b["branch_id"] == branch_b
    doc_a = upload(client, token_a)
    doc_b = upload(client, token_b)
    doc_org = upload(client, org)
    env_a = create_envelope(client, token_a, doc_a["id"], patient())
    env_b = create_envelope(client, token_b, doc_b["id"], patient())
    fan_out(rt)  # B's webhook gets its delivery (to a closed port: never attempted here)
    yield World(
        org, branch_a, branch_b, token_a, token_b, doc_a, doc_b, doc_org, env_a, env_b, webhook_b
    )


def branch_of(client: TestClient, headers: Headers, document: dict[str, Any]) -> str | None:
    """The branch of a document (the upload answer keeps API.md's exact shape)."""
    res = client.get(f"/api/v1/documents/{document['id']}", headers=headers)
    assert res.status_code == 200, res.text
    branch: str | None = res.json()["branch_id"]
    return branch


def test_objects_carry_the_branch_of_the_token(client: TestClient, world: World) -> None:
    assert branch_of(client, world.token_a, world.doc_a) == world.branch_a
    assert branch_of(client, world.token_b, world.doc_b) == world.branch_b
    assert branch_of(client, world.org, world.doc_org) is None
    assert world.env_a["branch_id"] == world.branch_a
    assert world.env_b["branch_id"] == world.branch_b
    # the organization token sees everything, each object with its branch
    for path, branch in (
        (f"/api/v1/documents/{world.doc_a['id']}", world.branch_a),
        (f"/api/v1/documents/{world.doc_b['id']}", world.branch_b),
        (f"/api/v1/envelopes/{world.env_b['id']}", world.branch_b),
    ):
        res = client.get(path, headers=world.org)
        assert res.status_code == 200, path
        assert res.json()["branch_id"] == branch
    assert client.get(f"/api/v1/envelopes/{world.env_a['id']}/pdf", headers=world.org).content
    envs = client.get("/api/v1/envelopes", headers=world.org).json()["items"]
    assert {e["id"] for e in envs} == {world.env_a["id"], world.env_b["id"]}
    docs = client.get("/api/v1/documents", headers=world.org).json()["items"]
    assert len(docs) == 3
    # a branch token lists only its branch's objects
    envs = client.get("/api/v1/envelopes", headers=world.token_a).json()["items"]
    assert [e["id"] for e in envs] == [world.env_a["id"]]
    docs = client.get("/api/v1/documents", headers=world.token_a).json()["items"]
    assert [d["id"] for d in docs] == [world.doc_a["id"]]
    hooks = client.get("/api/v1/webhooks", headers=world.token_a).json()["items"]
    assert hooks == []
    hooks = client.get("/api/v1/webhooks", headers=world.org).json()["items"]
    assert [h["id"] for h in hooks] == [world.webhook_b["id"]]


def _bodies(world: World) -> dict[tuple[str, str], Any]:
    """A valid body for each known route that takes one (so only the scope can refuse)."""
    return {
        ("POST", "/api/v1/envelopes/{envelope_id}/void"): {"reason": "test"},
        ("PATCH", "/api/v1/envelopes/{envelope_id}/signers/{signer_id}"): {"phone": "+79990000001"},
        ("POST", "/api/v1/envelopes/{envelope_id}/signers/{signer_id}/seal"): {
            "staff_name": "Petrova A. V."
        },
        ("POST", "/api/v1/webhooks/{webhook_id}/replay"): {"since": "2000-01-01T00:00:00Z"},
        ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret"): {"overlap_seconds": 0},
    }


def _b_ids(client: TestClient, world: World) -> dict[str, str]:
    deliveries = client.get(
        f"/api/v1/webhooks/{world.webhook_b['id']}/deliveries", headers=world.token_b
    ).json()["items"]
    assert deliveries, "branch B's webhook has a delivery in its log"
    tokens = client.get("/api/v1/tokens", headers=world.token_b).json()["items"]
    assert [t["branch_id"] for t in tokens] == [world.branch_b]
    return {
        "document_id": world.doc_b["id"],
        "envelope_id": world.env_b["id"],
        "signer_id": world.env_b["signers"][0]["id"],
        "webhook_id": world.webhook_b["id"],
        "delivery_id": deliveries[0]["id"],
        "token_id": tokens[0]["id"],
        "name": "1.webp",  # a page image of B's document
    }


def test_a_branch_token_gets_404_for_another_branchs_objects_on_every_endpoint(
    client: TestClient, world: World
) -> None:
    """Every ``/api/v1`` operation with an object id in its path, swept from the OpenAPI
    document (routes added later are covered too), called by branch A's token with
    branch B's ids."""
    ids = _b_ids(client, world)
    bodies = _bodies(world)
    checked = []
    paths: dict[str, dict[str, Any]] = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        params = set(re.findall(r"{(\w+)}", path))
        if not path.startswith("/api/v1/") or not params or not params <= set(ids):
            continue
        url = path.format(**ids)
        for method in sorted(m.upper() for m in operations):
            body = bodies.get((method, path))
            res = client.request(method, url, headers=world.token_a, json=body)
            if body is None and res.status_code == 422 and method in ("POST", "PATCH", "PUT"):
                # A route added later that needs a body we do not know: the handler did
                # not run (nothing leaked); check it with an empty object at least.
                assert res.json()["type"] == "/problems/invalid-request", (method, url)
                continue
            assert res.status_code == 404, (method, url, res.status_code, res.text)
            assert res.headers["content-type"] == "application/problem+json"
            checked.append((method, path))
    expected = {
        ("GET", "/api/v1/documents/{document_id}"),
        ("GET", "/api/v1/documents/{document_id}/pdf"),
        ("GET", "/api/v1/documents/{document_id}/pages/{name}"),
        ("GET", "/api/v1/envelopes/{envelope_id}"),
        ("GET", "/api/v1/envelopes/{envelope_id}/pdf"),
        ("POST", "/api/v1/envelopes/{envelope_id}/void"),
        ("POST", "/api/v1/envelopes/{envelope_id}/signers/{signer_id}/resend"),
        ("PATCH", "/api/v1/envelopes/{envelope_id}/signers/{signer_id}"),
        ("POST", "/api/v1/envelopes/{envelope_id}/signers/{signer_id}/seal"),
        ("GET", "/api/v1/webhooks/{webhook_id}"),
        ("DELETE", "/api/v1/webhooks/{webhook_id}"),
        ("POST", "/api/v1/webhooks/{webhook_id}/enable"),
        ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret"),
        ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"),
        ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"),
        ("POST", "/api/v1/webhooks/{webhook_id}/replay"),
        ("DELETE", "/api/v1/tokens/{token_id}"),
    }
    assert expected <= set(checked), expected - set(checked)
    # and nothing changed: B's envelope is still sent, its webhook still there
    res = client.get(f"/api/v1/envelopes/{world.env_b['id']}", headers=world.token_b)
    assert res.json()["status"] == "sent"
    assert res.json()["signers"][0]["name"] == world.env_b["signers"][0]["name"]
    res = client.get(f"/api/v1/webhooks/{world.webhook_b['id']}", headers=world.token_b)
    assert res.status_code == 200
    # an organization-wide document is not a branch's either
    res = client.get(f"/api/v1/documents/{world.doc_org['id']}", headers=world.token_a)
    assert res.status_code == 404


def test_a_branch_token_cannot_use_another_branchs_objects_in_a_body(
    client: TestClient, world: World
) -> None:
    a, org = world.token_a, world.org
    # B's document in A's envelope
    res = client.post(
        "/api/v1/envelopes",
        headers=a,
        json={"document_id": world.doc_b["id"], "signers": [patient()]},
    )
    assert res.status_code == 404, res.text
    # naming another branch explicitly
    for path, body in (
        ("/api/v1/tokens", {"name": "x", "branch_id": world.branch_b}),
        (
            "/api/v1/webhooks",
            {"url": "http://127.0.0.1:9/h", "events": ["*"], "branch_id": world.branch_b},
        ),
        (
            "/api/v1/envelopes",
            {"document_id": world.doc_a["id"], "signers": [patient()], "branch_id": world.branch_b},
        ),
    ):
        res = client.post(path, headers=a, json=body)
        assert res.status_code == 404, (path, res.text)
    res = client.post(
        "/api/v1/documents",
        headers=a,
        files={"files": ("d.pdf", b"%PDF-1.4 nothing", "application/pdf")},
        data={"title": "t", "kind": "user_agreement", "branch_id": world.branch_b},
    )
    assert res.status_code == 404, res.text
    # a token created by a branch token is that branch's, never the organization's
    res = client.post("/api/v1/tokens", headers=a, json={"name": "A second"})
    assert res.status_code == 201 and res.json()["branch_id"] == world.branch_a
    # branches are managed with organization tokens only (403: known caller, not theirs)
    assert client.post("/api/v1/branches", headers=a, json={"name": "C"}).status_code == 403
    assert client.get("/api/v1/branches", headers=a).status_code == 403
    # so is the organization's signature policy (reading it is fine)
    assert client.get("/api/v1/policy", headers=a).status_code == 200
    res = client.put("/api/v1/policy", headers=a, json={"overrides": {}})
    assert res.status_code == 403 and res.json()["type"] == "/problems/forbidden"
    assert client.put("/api/v1/policy", headers=org, json={"overrides": {}}).status_code == 200
    # patients stay organization-wide
    res = client.post(
        "/api/v1/patients", headers=org, json={"mis_id": "P-1", "name": "Ivanova Maria"}
    )
    assert res.status_code == 201, res.text
    assert client.get("/api/v1/patients/P-1", headers=a).status_code == 200


def test_organization_token_may_place_objects_in_a_branch(
    client: TestClient, rt: Runtime, world: World
) -> None:
    org = world.org
    _, other_org = new_org(rt, "Other clinic")
    foreign = new_branch(client, other_org, "Their branch")
    # a document uploaded for branch A by the organization token is visible to A
    res = client.post(
        "/api/v1/documents",
        headers=org,
        files={"files": ("d.pdf", make_pdf(), "application/pdf")},
        data={"title": "t", "kind": "user_agreement", "branch_id": world.branch_a},
    )
    assert res.status_code == 201, res.text
    doc = res.json()
    assert branch_of(client, org, doc) == world.branch_a
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=world.token_a).status_code == 200
    # an envelope defaults to its document's branch
    env = create_envelope(client, org, doc["id"], patient())
    assert env["branch_id"] == world.branch_a
    assert client.get(f"/api/v1/envelopes/{env['id']}", headers=world.token_a).status_code == 200
    # an organization-wide document may be sent from a branch explicitly
    res = client.post(
        "/api/v1/envelopes",
        headers=org,
        json={
            "document_id": world.doc_org["id"],
            "signers": [patient()],
            "branch_id": world.branch_b,
        },
    )
    assert res.status_code == 201 and res.json()["branch_id"] == world.branch_b
    # but a branch's document cannot be moved to another branch
    res = client.post(
        "/api/v1/envelopes",
        headers=org,
        json={"document_id": doc["id"], "signers": [patient()], "branch_id": world.branch_b},
    )
    assert res.status_code == 422 and res.json()["field"] == "branch_id"
    # another organization's branch, or no branch at all: 404
    for branch in (foreign, "no-such-branch"):
        res = client.post("/api/v1/tokens", headers=org, json={"name": "x", "branch_id": branch})
        assert res.status_code == 404, res.text
        assert res.headers["content-type"] == "application/problem+json"
    # branch names are unique per organization
    res = client.post("/api/v1/branches", headers=org, json={"name": "Branch A"})
    assert res.status_code == 409
    for body in ({"name": ""}, {"name": "x" * 201}, {"name": "C", "code": 1}, {}):
        assert client.post("/api/v1/branches", headers=org, json=body).status_code == 422
    names = [b["name"] for b in client.get("/api/v1/branches", headers=org).json()["items"]]
    assert sorted(names) == ["Branch A", "Branch B"]  # same instant: ordered by id
    assert client.get("/api/v1/branches", headers=other_org).json()["items"][0]["id"] == foreign
    assert client.get("/api/v1/branches").status_code == 401


def test_tokens_of_a_branch_are_managed_within_the_branch(client: TestClient, world: World) -> None:
    org, a = world.org, world.token_a
    mine = client.get("/api/v1/tokens", headers=a).json()["items"]
    assert [t["name"] for t in mine] == ["A sync"]
    everything = client.get("/api/v1/tokens", headers=org).json()["items"]
    assert sorted(t["name"] for t in everything) == ["A sync", "B sync", "default"]
    # the organization's last organization token cannot be revoked, even with branch
    # tokens alive (they cannot manage branches)
    default = next(t for t in everything if t["branch_id"] is None)
    assert client.delete(f"/api/v1/tokens/{default['id']}", headers=org).status_code == 409
    # an organization token revokes a branch token; it stops working at once
    assert client.delete(f"/api/v1/tokens/{mine[0]['id']}", headers=org).status_code == 204
    assert client.get("/api/v1/envelopes", headers=a).status_code == 401


def test_branch_webhook_receives_only_its_branchs_events(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    rt.settings.webhook_allow_private = True
    _, org = new_org(rt)
    branch_a = new_branch(client, org, "A")
    branch_b = new_branch(client, org, "B")
    token_a = branch_token(client, org, branch_a)
    token_b = branch_token(client, org, branch_b)
    with WebhookReceiver() as for_org, WebhookReceiver() as for_a:
        subs = {}
        for name, headers, receiver in (("org", org, for_org), ("a", token_a, for_a)):
            res = client.post(
                "/api/v1/webhooks", headers=headers, json={"url": receiver.url, "events": ["*"]}
            )
            assert res.status_code == 201, res.text
            receiver.secrets.append(res.json()["secret"])
            subs[name] = res.json()
        assert subs["a"]["branch_id"] == branch_a and subs["org"]["branch_id"] is None
        env_a = create_envelope(client, token_a, upload(client, token_a)["id"], patient())
        env_b = create_envelope(client, token_b, upload(client, token_b)["id"], patient())
        env_org = create_envelope(client, org, upload(client, org)["id"], patient())
        for env, headers in ((env_a, token_a), (env_b, token_b), (env_org, org)):
            res = client.post(
                f"/api/v1/envelopes/{env['id']}/void", headers=headers, json={"reason": "x"}
            )
            assert res.status_code == 200, res.text
        drain(rt, limit=500)
        got_org = for_org.wait_for(6)
        got_a = for_a.wait_for(2)
        assert {r.envelope_id for r in got_org} == {env_a["id"], env_b["id"], env_org["id"]}
        assert [(r.envelope_id, r.type) for r in got_a] == [
            (env_a["id"], "envelope.sent"),
            (env_a["id"], "envelope.voided"),
        ]
        # replay since the beginning: still only the branch's events
        clock.advance(seconds=1)
        res = client.post(
            f"/api/v1/webhooks/{subs['a']['id']}/replay",
            headers=token_a,
            json={"since": "2000-01-01T00:00:00Z"},
        )
        assert res.status_code == 202, res.text
        assert res.json()["replayed"] == 2
        log = client.get(f"/api/v1/webhooks/{subs['a']['id']}/deliveries", headers=token_a)
        assert {d["envelope_id"] for d in log.json()["items"]} == {env_a["id"]}
        # the organization token manages the branch's subscription too
        res = client.get(f"/api/v1/webhooks/{subs['a']['id']}", headers=org)
        assert res.status_code == 200 and res.json()["branch_id"] == branch_a
        assert len(for_a.unique) == 2


def test_idempotency_keys_are_per_branch(client: TestClient, world: World) -> None:
    """Two branches' plugins may use the same keys: neither replays the other's answer."""
    key = {"Idempotency-Key": "sync-42"}
    pdf = make_pdf()
    docs = []
    for headers in (world.token_a, world.token_b, world.token_a):
        res = client.post(
            "/api/v1/documents",
            headers=headers | key,
            files={"files": ("d.pdf", pdf, "application/pdf")},
            data={"title": "t", "kind": "user_agreement"},
        )
        assert res.status_code == 201, res.text
        docs.append(res.json())
    assert branch_of(client, world.org, docs[0]) == world.branch_a
    assert branch_of(client, world.org, docs[1]) == world.branch_b
    assert docs[2] == docs[0]  # A's own retry is a replay
    key = {"Idempotency-Key": "sync-43"}  # a key names one request (another one: 422)
    envs = []
    for headers, doc in ((world.token_a, world.doc_a), (world.token_b, world.doc_b)):
        res = client.post(
            "/api/v1/envelopes",
            headers=headers | key,
            json={"document_id": doc["id"], "signers": [patient()]},
        )
        assert res.status_code == 201, res.text
        envs.append(res.json())
    assert envs[0]["branch_id"] == world.branch_a and envs[1]["branch_id"] == world.branch_b
