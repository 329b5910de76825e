"""Signing edge cases: codes, limits, order groups, double submit, dead links."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.envelopes.models import OtpChallenge
from medsign.jobs.models import Job
from medsign.notify.models import DevMessage
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload, validated_pdf
from tests.support.clock import FrozenClock
from tests.support.pages import form_fields, latest_code, path_of, press_sign, request_code
from tests.support.worker import drain


def _one_signer(
    client: TestClient, rt: Runtime, **signer: object
) -> tuple[dict[str, str], str, str]:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient(**signer))  # type: ignore[arg-type]
    drain(rt)
    return headers, env["id"], path_of(env["signers"][0]["signing_url"])


def _status(client: TestClient, headers: dict[str, str], env_id: str) -> dict[str, object]:
    body: dict[str, object] = client.get(f"/api/v1/envelopes/{env_id}", headers=headers).json()
    return body


def test_codes_are_stored_only_as_keyed_hashes(client: TestClient, rt: Runtime) -> None:
    _, _, path = _one_signer(client, rt)
    request_code(client, path)
    drain(rt)
    code = latest_code(rt, "+79991234567")
    with rt.transaction() as session:
        challenge = session.scalars(select(OtpChallenge)).one()
    assert code not in challenge.code_hash and len(challenge.code_hash) == 64


def test_wrong_code_then_lockout(client: TestClient, rt: Runtime) -> None:
    headers, env_id, path = _one_signer(client, rt)
    request_code(client, path)
    drain(rt)
    code = latest_code(rt, "+79991234567")
    wrong = "000000" if code != "000000" else "111111"
    res = press_sign(client, path, wrong)
    assert res.status_code == 422 and "4 tries left" in res.text and 'role="alert"' in res.text
    for _ in range(4):
        press_sign(client, path, wrong)
    res = press_sign(client, path, code)  # even the right code is refused once locked
    assert res.status_code == 422 and "Send code" in res.text
    assert _status(client, headers, env_id)["status"] == "sent"


def test_expired_code_is_refused(client: TestClient, rt: Runtime, clock: FrozenClock) -> None:
    _, _, path = _one_signer(client, rt)
    request_code(client, path)
    drain(rt)
    code = latest_code(rt, "+79991234567")
    clock.advance(minutes=10, seconds=1)
    res = press_sign(client, path, code)
    assert res.status_code == 422 and "expired" in res.text


def test_sign_without_code_and_malformed_code(client: TestClient, rt: Runtime) -> None:
    _, _, path = _one_signer(client, rt)
    assert press_sign(client, path, "123456").status_code == 422
    assert press_sign(client, path, "12ab").status_code == 422


def test_resend_is_rate_limited(client: TestClient, rt: Runtime, clock: FrozenClock) -> None:
    _, _, path = _one_signer(client, rt)
    assert request_code(client, path).status_code == 303
    fields = form_fields(client.get(path).text)
    res = client.post(
        f"{path}/code", data={"csrf": fields["csrf"]}, headers={"Accept": "application/json"}
    )
    assert res.status_code == 429
    assert res.headers["retry-after"] == "30"
    assert res.json()["type"] == "/problems/too-many-requests"
    clock.advance(seconds=31)
    assert request_code(client, path).status_code == 303


def test_csrf_token_is_required(client: TestClient, rt: Runtime) -> None:
    _, _, path = _one_signer(client, rt)
    res = client.post(f"{path}/code", data={"csrf": "forged"})
    assert res.status_code == 422 and "out of date" in res.text
    with rt.transaction() as session:
        assert session.scalars(select(OtpChallenge)).first() is None


def test_double_submit_signs_once(client: TestClient, rt: Runtime) -> None:
    headers, env_id, path = _one_signer(client, rt)
    request_code(client, path)
    drain(rt)
    code = latest_code(rt, "+79991234567")
    fields = form_fields(client.get(path).text)
    first = client.post(f"{path}/sign", data={**fields, "code": code})
    second = client.post(f"{path}/sign", data={**fields, "code": code})
    assert first.status_code == second.status_code == 303
    drain(rt)
    with rt.transaction() as session:
        kinds = session.scalars(select(Job.kind)).all()
    assert kinds.count("seal") == 1  # signed once, sealed once
    env = _status(client, headers, env_id)
    assert env["status"] == "completed"


def test_unknown_link_shows_a_clear_page(client: TestClient, rt: Runtime) -> None:
    res = client.get("/s/not-a-real-token?lang=en")
    assert res.status_code == 410
    assert "no longer works" in res.text and "new one" in res.text
    assert client.post("/s/not-a-real-token/sign", data={"code": "123456"}).status_code == 410


def test_voided_envelope_cannot_be_signed(client: TestClient, rt: Runtime) -> None:
    headers, env_id, path = _one_signer(client, rt)
    request_code(client, path)
    drain(rt)
    code = latest_code(rt, "+79991234567")
    fields = form_fields(client.get(path).text)
    client.post(f"/api/v1/envelopes/{env_id}/void", headers=headers, json={"reason": "x"})
    page = client.get(path + "?lang=en")
    assert "can no longer be signed" in page.text
    res = client.post(f"{path}/sign", data={**fields, "code": code})
    assert res.status_code == 410
    assert _status(client, headers, env_id)["status"] == "voided"


def test_expired_envelope(client: TestClient, rt: Runtime, clock: FrozenClock) -> None:
    headers, env_id, path = _one_signer(client, rt)
    clock.advance(days=15)
    assert "can no longer be signed" in client.get(path + "?lang=en").text
    from medsign.jobs.handlers import periodic

    periodic(rt)
    assert _status(client, headers, env_id)["status"] == "expired"


def test_decline(client: TestClient, rt: Runtime) -> None:
    headers, env_id, path = _one_signer(client, rt)
    fields = form_fields(client.get(path).text)
    res = client.post(
        f"{path}/decline", data={"csrf": fields["csrf"], "reason": "I disagree with clause 3"}
    )
    assert res.status_code == 303
    assert "Declined" in client.get(path + "?lang=en").text
    env = _status(client, headers, env_id)
    assert env["status"] == "declined"
    signer = env["signers"][0]  # type: ignore[index]
    assert signer["decline_reason"] == "I disagree with clause 3"
    res = client.post(f"{path}/sign", data={"csrf": "x", "code": "123456", "lang": "en"})
    assert res.status_code == 409 and "Declined" in res.text
    assert _status(client, headers, env_id)["status"] == "declined"


def test_second_group_waits_for_the_first(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(
        client,
        headers,
        doc["id"],
        patient("First", order=1),
        patient("Second", method="email_otp", order=2, email="second@example.com"),
    )
    drain(rt)
    with rt.transaction() as session:
        recipients = session.scalars(select(DevMessage.to)).all()
    assert recipients == ["+79991234567"]  # only the first group was invited
    second_path = path_of(env["signers"][1]["signing_url"])
    assert "Not your turn" in client.get(second_path + "?lang=en").text
    assert press_sign(client, second_path, "123456").status_code == 409

    first_path = path_of(env["signers"][0]["signing_url"])
    request_code(client, first_path)
    drain(rt)
    press_sign(client, first_path, latest_code(rt, "+79991234567"))
    drain(rt)  # seal, then invite the second group
    with rt.transaction() as session:
        assert "second@example.com" in session.scalars(select(DevMessage.to)).all()
    state = _status(client, headers, env["id"])
    assert [s["status"] for s in state["signers"]] == ["signed", "notified"]  # type: ignore[attr-defined]

    request_code(client, second_path)
    drain(rt)
    press_sign(client, second_path, latest_code(rt, "second@example.com"))
    drain(rt)
    assert _status(client, headers, env["id"])["status"] == "completed"
    report = validated_pdf(client, rt, headers, env["id"])
    assert report.valid and [s.signer for s in report.signatures] == ["First", "Second"]


def test_parallel_signers_in_one_group(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(
        client,
        headers,
        doc["id"],
        patient("A", phone="+79990000001"),
        patient("B", phone="+79990000002"),
    )
    assert [s["status"] for s in env["signers"]] == ["notified", "notified"]
    paths = [path_of(s["signing_url"]) for s in env["signers"]]
    for path in paths:
        request_code(client, path)
    drain(rt)
    # Both read version 0 and sign before either seal runs.
    press_sign(client, paths[0], latest_code(rt, "+79990000001"))
    press_sign(client, paths[1], latest_code(rt, "+79990000002"))
    drain(rt)
    state = _status(client, headers, env["id"])
    assert state["status"] == "completed"
