"""Named API tokens: several per organization, shown once, revocable at once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from medsign.runtime import Runtime
from tests.support.api import new_org
from tests.support.clock import FrozenClock


def test_tokens_are_named_listed_without_values_and_revoked_at_once(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    clock.advance(seconds=1)
    res = client.post("/api/v1/tokens", headers=headers, json={"name": "Archimed+ sync"})
    assert res.status_code == 201, res.text
    created = res.json()
    assert created["name"] == "Archimed+ sync" and created["token"].startswith("msk_")
    new_headers = {"Authorization": f"Bearer {created['token']}"}
    clock.advance(minutes=5)
    assert client.get("/api/v1/webhooks", headers=new_headers).status_code == 200
    listed = client.get("/api/v1/tokens", headers=headers).json()["items"]
    assert [t["name"] for t in listed] == ["default", "Archimed+ sync"]
    assert all("token" not in t for t in listed)
    mine = next(t for t in listed if t["id"] == created["id"])
    assert mine["last_used_at"] is not None
    # rotation without downtime: the new token works, then the old one is revoked
    old = next(t for t in listed if t["name"] == "default")
    assert client.delete(f"/api/v1/tokens/{old['id']}", headers=new_headers).status_code == 204
    res = client.get("/api/v1/tokens", headers=headers)
    assert res.status_code == 401 and res.headers["content-type"] == "application/problem+json"
    assert [t["id"] for t in client.get("/api/v1/tokens", headers=new_headers).json()["items"]] == [
        created["id"]
    ]
    # the last active token cannot be revoked (no lock-out)
    res = client.delete(f"/api/v1/tokens/{created['id']}", headers=new_headers)
    assert res.status_code == 409


def test_token_input_and_isolation(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    _, other = new_org(rt, "Other clinic")
    for body in ({"name": ""}, {"name": "x" * 101}, {"name": "ok", "scope": "all"}, {}):
        res = client.post("/api/v1/tokens", headers=headers, json=body)
        assert res.status_code == 422, body
    theirs = client.get("/api/v1/tokens", headers=other).json()["items"][0]
    assert client.delete(f"/api/v1/tokens/{theirs['id']}", headers=headers).status_code == 404
    assert client.delete("/api/v1/tokens/nope", headers=headers).status_code == 404
    assert client.post("/api/v1/tokens", json={"name": "x"}).status_code == 401
