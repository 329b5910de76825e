"""Polling: list endpoints with cursors and filters, stable order by (updated_at, id)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock


def _all_pages(client: TestClient, headers: dict[str, str], url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    sep = "&" if "?" in url else "?"
    for _ in range(20):
        res = client.get(url + (f"{sep}cursor={cursor}" if cursor else ""), headers=headers)
        assert res.status_code == 200, res.text
        body = res.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("too many pages")


def test_envelopes_and_documents_page_and_filter(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    _, other = new_org(rt, "Other clinic")
    upload(client, other)
    doc_ua = upload(client, headers)
    clock.advance(minutes=1)
    doc_other = upload(client, headers, kind="medical_record", title="Record")
    ids = []
    for n in range(5):
        clock.advance(minutes=1)
        doc = doc_ua if n % 2 == 0 else doc_other
        signer = patient(patient_mis_id="P-0")
        if doc is doc_other:
            signer = {"role": "clinic", "name": "Clinic", "method": "seal"}
        env = create_envelope(client, headers, doc["id"], signer)
        ids.append(env["id"])
    clock.advance(minutes=1)
    since = clock().isoformat().replace("+00:00", "Z")
    res = client.post(f"/api/v1/envelopes/{ids[0]}/void", headers=headers, json={"reason": "x"})
    assert res.status_code == 200

    listed = _all_pages(client, headers, "/api/v1/envelopes?limit=2")
    assert [e["id"] for e in listed] == ids[1:] + ids[:1]  # the voided one moved last
    assert listed[-1]["status"] == "voided" and listed[0]["kind"] == "medical_record"
    assert all(e["signers"] for e in listed)
    assert [e["id"] for e in _all_pages(client, headers, "/api/v1/envelopes?status=voided")] == [
        ids[0]
    ]
    by_patient = _all_pages(client, headers, "/api/v1/envelopes?patient_mis_id=P-0&limit=1")
    assert [e["id"] for e in by_patient] == [ids[2], ids[4], ids[0]]
    by_kind = _all_pages(client, headers, "/api/v1/envelopes?kind=medical_record")
    assert [e["id"] for e in by_kind] == [ids[1], ids[3]]
    changed = _all_pages(client, headers, f"/api/v1/envelopes?updated_since={since}")
    assert [e["id"] for e in changed] == [ids[0]]

    docs = _all_pages(client, headers, "/api/v1/documents?limit=1")
    assert [d["id"] for d in docs] == [doc_ua["id"], doc_other["id"]]
    assert [
        d["id"] for d in _all_pages(client, headers, "/api/v1/documents?kind=medical_record")
    ] == [doc_other["id"]]
    p0 = _all_pages(client, headers, "/api/v1/documents?patient_mis_id=P-0")
    assert [d["id"] for d in p0] == [doc_ua["id"]]
    assert _all_pages(client, headers, f"/api/v1/documents?updated_since={since}") == []


def test_bad_list_parameters_are_4xx_problems(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    for url in (
        "/api/v1/envelopes?limit=0",
        "/api/v1/envelopes?limit=1000",
        "/api/v1/envelopes?status=lost",
        "/api/v1/envelopes?kind=poem",
        "/api/v1/envelopes?cursor=%%%",
        "/api/v1/envelopes?cursor=WzEsMl0",  # [1,2]: decodes, but not a position
        "/api/v1/envelopes?updated_since=yesterday",
        "/api/v1/envelopes?updated_since=2026-01-01T00:00:00",  # no time zone
        "/api/v1/documents?cursor=abc",
        "/api/v1/documents?limit=-1",
    ):
        res = client.get(url, headers=headers)
        assert res.status_code == 422, (url, res.text)
        assert res.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/envelopes").status_code == 401


def test_newest_first_date_range_and_branch_filter(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    res = client.post("/api/v1/branches", headers=headers, json={"name": "North"})
    assert res.status_code == 201, res.text
    north = res.json()["id"]
    ids, marks = [], []
    for n in range(5):
        clock.advance(minutes=1)
        marks.append(clock().isoformat().replace("+00:00", "Z"))
        doc = upload(client, headers)
        body: dict[str, Any] = {
            "document_id": doc["id"],
            "signers": [patient(patient_mis_id=f"P-{n}")],
        }
        if n % 2 == 0:
            body["branch_id"] = north
        res = client.post("/api/v1/envelopes", headers=headers, json=body)
        assert res.status_code == 201, res.text
        ids.append(res.json()["id"])

    newest = _all_pages(client, headers, "/api/v1/envelopes?order=desc&limit=2")
    assert [e["id"] for e in newest] == ids[::-1]
    window = f"updated_since={marks[1]}&updated_before={marks[3]}"
    assert [e["id"] for e in _all_pages(client, headers, f"/api/v1/envelopes?{window}")] == ids[1:3]
    desc_window = _all_pages(client, headers, f"/api/v1/envelopes?{window}&order=desc&limit=1")
    assert [e["id"] for e in desc_window] == [ids[2], ids[1]]
    in_north = _all_pages(client, headers, f"/api/v1/envelopes?branch_id={north}&limit=1")
    assert [e["id"] for e in in_north] == [ids[0], ids[2], ids[4]]
    docs_desc = _all_pages(client, headers, "/api/v1/documents?order=desc&limit=2")
    assert [d["created_at"] for d in docs_desc] == sorted(
        (d["created_at"] for d in docs_desc), reverse=True
    )
    assert len(docs_desc) == 5
    # uploaded with the organization token: the documents belong to no branch
    assert _all_pages(client, headers, f"/api/v1/documents?branch_id={north}") == []

    _, other = new_org(rt, "Other clinic")
    for url in (
        f"/api/v1/envelopes?branch_id={north}",  # another organization's branch
        "/api/v1/documents?branch_id=no-such-branch",
    ):
        res = client.get(url, headers=other)
        assert res.status_code == 404, (url, res.text)
        assert res.headers["content-type"] == "application/problem+json"
    for url in (
        "/api/v1/envelopes?order=sideways",
        "/api/v1/envelopes?updated_before=2026-01-01T00:00:00",  # no time zone
    ):
        assert client.get(url, headers=headers).status_code == 422, url
