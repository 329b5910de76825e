"""``/api/v1/audit``: what an outside monitor and the holder of a certificate check."""

from __future__ import annotations

import base64
import hashlib

from fastapi.testclient import TestClient

from medsign.audit import merkle
from medsign.audit.checkpoints import token_matches
from medsign.audit.note import open_note
from medsign.audit.sequencer import sequence_pending
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.pages import path_of, request_code, signed_envelope
from tests.support.worker import drain


def _verifier(page: dict[str, object]) -> tuple[str, bytes]:
    name, _key_id, encoded = str(page["verifier_key"]).split("+")
    raw = base64.b64decode(encoded)
    assert raw[0] == 1  # Ed25519
    return name, raw[1:]


def test_monitor_checks_checkpoints_and_proofs(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    _, other_headers = new_org(rt, "Other")
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient())
    early = client.get("/api/v1/audit/checkpoints", headers=headers)
    assert early.status_code == 200 and early.json()["checkpoints"] == []
    mine = client.get(f"/api/v1/audit/events?envelope_id={env['id']}", headers=headers).json()
    assert mine and all(e["leaf_index"] is None for e in mine)  # not sequenced yet
    none_yet = client.get(
        f"/api/v1/audit/proofs/inclusion?event_id={mine[0]['id']}", headers=headers
    )
    assert none_yet.status_code == 404 and none_yet.headers["retry-after"] == "5"
    first_size = sequence_pending(rt)
    drain(rt)
    request_code(client, path_of(env["signers"][0]["signing_url"]))  # one more event
    second_size = sequence_pending(rt)
    assert first_size is not None and second_size is not None and second_size > first_size

    page = client.get("/api/v1/audit/checkpoints", headers=headers).json()
    name, public = _verifier(page)
    newest, oldest = page["checkpoints"]
    assert (newest["tree_size"], oldest["tree_size"]) == (second_size, first_size)
    for cp in page["checkpoints"]:
        stated = open_note(cp["note"], name, public)
        assert stated.root_hash.hex() == cp["root_hash"]
        token = base64.b64decode(cp["timestamp_token"])
        assert token_matches(token, hashlib.sha256(cp["note"].encode()).digest())

    # Consistency: the old checkpoint is a prefix of the new one.
    proof = client.get(
        f"/api/v1/audit/proofs/consistency?first={first_size}&second={second_size}",
        headers=headers,
    ).json()
    assert merkle.verify_consistency(
        first_size,
        second_size,
        bytes.fromhex(oldest["root_hash"]),
        bytes.fromhex(newest["root_hash"]),
        [bytes.fromhex(h) for h in proof["hashes"]],
    )

    # Inclusion: every event of the envelope, recomputed from its leaf data.
    events = client.get(f"/api/v1/audit/events?envelope_id={env['id']}", headers=headers).json()
    assert [e["action"] for e in events] == ["envelope.sent", "signer.invited", "signer.code_sent"]
    for event in events:
        res = client.get(
            f"/api/v1/audit/proofs/inclusion?event_id={event['id']}", headers=headers
        ).json()
        leaf = merkle.leaf_hash(base64.b64decode(res["event"]["leaf_data"]))
        assert leaf.hex() == res["leaf_hash"]
        assert merkle.verify_inclusion(
            leaf,
            res["leaf_index"],
            res["tree_size"],
            [bytes.fromhex(h) for h in res["hashes"]],
            bytes.fromhex(res["checkpoint"]["root_hash"]),
        )
    # Against the older checkpoint, the code request (sequenced later) is not covered.
    late = client.get(
        f"/api/v1/audit/proofs/inclusion?event_id={events[2]['id']}&tree_size={first_size}",
        headers=headers,
    )
    assert late.status_code == 404

    # Another organization's events are not found; bad parameters are 4xx.
    foreign = client.get(
        f"/api/v1/audit/proofs/inclusion?event_id={events[0]['id']}", headers=other_headers
    )
    assert foreign.status_code == 404
    assert (
        client.get(f"/api/v1/audit/events?envelope_id={env['id']}", headers=other_headers).json()
        == []
    )
    for bad in (
        f"/api/v1/audit/proofs/consistency?first={second_size}&second={first_size}",
        "/api/v1/audit/proofs/consistency?first=0&second=1",
        "/api/v1/audit/proofs/consistency?first=1&second=999999",
        "/api/v1/audit/proofs/inclusion?event_id=abc",
        "/api/v1/audit/checkpoints?limit=0",
    ):
        res = client.get(bad, headers=headers)
        assert res.status_code in (404, 422), (bad, res.status_code)
    assert client.get("/api/v1/audit/checkpoints").status_code == 401
    assert org_id


def test_certificate_carries_inclusion_proofs(client: TestClient, rt: Runtime) -> None:
    _, headers, env = signed_envelope(client, rt)
    data = client.get(f"/api/v1/envelopes/{env['id']}/evidence.json", headers=headers).json()
    log = data["audit_log"]
    name, _, encoded = log["verifier_key"].split("+")
    stated = open_note(log["checkpoint"]["note"], name, base64.b64decode(encoded)[1:])
    actions = [e["action"] for e in data["events"]]
    assert actions[:2] == ["envelope.sent", "signer.invited"]
    assert "envelope.completed" in actions
    for event in data["events"]:
        proof = event["inclusion_proof"]
        assert proof is not None, event  # the job folded the events in before writing
        assert merkle.verify_inclusion(
            bytes.fromhex(proof["leaf_hash"]),
            proof["leaf_index"],
            proof["tree_size"],
            [bytes.fromhex(h) for h in proof["hashes"]],
            stated.root_hash,
        )
    pdf = client.get(f"/api/v1/envelopes/{env['id']}/evidence.pdf", headers=headers)
    assert pdf.status_code == 200
