"""Usage metering: what is counted, once, per organization, branch and day; the usage
API and CSV; plan limits on new envelopes (issue [notify] point 5)."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.domain.sms_segments import sms_size
from medsign.jobs.handlers import build_handlers
from medsign.jobs.models import Job
from medsign.jobs.outbox import JobCall
from medsign.jobs.worker import run_one
from medsign.notify.models import DevMessage
from medsign.runtime import Runtime
from medsign.usage.service import set_limits
from tests.integration.test_branches import branch_token, new_branch
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.cli import CliResult, run_cli
from tests.support.clock import FrozenClock
from tests.support.pages import latest_code, path_of, press_sign, request_code
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import drain

DAY = "2026-11-23"  # FrozenClock's day in Europe/Moscow (09:00 UTC)
CLINIC = {"role": "clinic", "name": "Clinic", "method": "seal"}


def _usage(
    client: TestClient, headers: dict[str, str], first: str = DAY, last: str = DAY, **q: str
) -> dict[str, Any]:
    res = client.get("/api/v1/usage", headers=headers, params={"from": first, "to": last, **q})
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def _sign_by_sms(client: TestClient, rt: Runtime, headers: dict[str, str], phone: str) -> str:
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient(phone=phone))
    drain(rt)
    path = path_of(env["signers"][0]["signing_url"])
    assert request_code(client, path).status_code == 303
    drain(rt)
    assert press_sign(client, path, latest_code(rt, phone)).status_code == 303
    drain(rt)
    envelope_id: str = env["id"]
    return envelope_id


def _sealed_envelope(client: TestClient, headers: dict[str, str], doc_id: str) -> None:
    env = create_envelope(client, headers, doc_id, CLINIC)
    signer_id = env["signers"][0]["id"]
    res = client.post(
        f"/api/v1/envelopes/{env['id']}/signers/{signer_id}/seal",
        headers=headers,
        json={"staff_name": "Registrar"},
    )
    assert res.status_code == 200, res.text


def test_a_signing_by_sms_is_metered(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    _, other = new_org(rt, "Other clinic")
    phone = "+79990000011"
    env_id = _sign_by_sms(client, rt, headers, phone)
    assert client.get(f"/api/v1/envelopes/{env_id}", headers=headers).json()["status"] == (
        "completed"
    )
    with rt.transaction() as session:
        bodies = session.scalars(select(DevMessage.body).where(DevMessage.to == phone)).all()
    assert len(bodies) == 3  # invitation, code, "completed" notice
    segments = sum(sms_size(b).segments for b in bodies)
    assert segments > len(bodies)  # Cyrillic invitations with a link take more than one
    used = _usage(client, headers)
    assert used["signatures"] == {"sms_otp": 1}
    assert used["sms"] == {"messages": 3, "segments": segments}
    assert used["emails"] == 0
    assert used["from"] == DAY and used["to"] == DAY
    # another organization sees nothing of it; another day holds nothing
    assert _usage(client, other)["sms"] == {"messages": 0, "segments": 0}
    assert _usage(client, headers, "2026-11-22", "2026-11-22")["signatures"] == {}
    # running every job again (a crash, a retry) counts nothing twice
    with rt.transaction() as session:
        jobs = session.scalars(select(Job)).all()
        for job in jobs:
            job.status, job.run_after = "queued", rt.clock()
    drain(rt)
    assert _usage(client, headers)["sms"]["messages"] == 3


def test_emails_and_the_csv_export(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient(method="email_otp"))
    drain(rt)
    assert _usage(client, headers)["emails"] == 1
    res = client.get(
        "/api/v1/usage.csv", headers=headers, params={"from": "2026-11-01", "to": "2026-11-30"}
    )
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(res.text)))
    assert rows == [["day", "branch_id", "metric", "amount"], [DAY, "", "emails", "1"]]


def test_branch_tokens_see_their_branch(client: TestClient, rt: Runtime) -> None:
    _, org = new_org(rt)
    branch_a, branch_b = new_branch(client, org, "A"), new_branch(client, org, "B")
    token_a = branch_token(client, org, branch_a, "A")
    doc = upload(client, token_a)
    create_envelope(client, token_a, doc["id"], patient(method="email_otp"))
    drain(rt)
    assert _usage(client, token_a)["emails"] == 1
    assert _usage(client, org)["emails"] == 1
    assert _usage(client, org, branch_id=branch_a)["emails"] == 1
    assert _usage(client, org, branch_id=branch_b)["emails"] == 0
    res = client.get(
        "/api/v1/usage", headers=token_a, params={"from": DAY, "to": DAY, "branch_id": branch_b}
    )
    assert res.status_code == 404, res.text
    csv_b = client.get(
        "/api/v1/usage.csv", headers=org, params={"from": DAY, "to": DAY, "branch_id": branch_a}
    )
    assert f"{DAY},{branch_a},emails,1" in csv_b.text


def test_bad_ranges_are_422_problems(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    cases = [
        ({"from": "2026-13-01", "to": "2026-12-01"}, "from"),
        ({"from": "2026-11-01", "to": "yesterday"}, "to"),
        ({"from": "2026-11-1", "to": "2026-11-30"}, "from"),
        ({"from": "2026-12-01", "to": "2026-11-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
    ]
    for path in ("/api/v1/usage", "/api/v1/usage.csv"):
        for params, field in cases:
            res = client.get(path, headers=headers, params=params)
            assert res.status_code == 422, (params, res.text)
            assert res.headers["content-type"].startswith("application/problem+json")
            assert res.json()["field"] == field
        missing = client.get(path, headers=headers, params={"from": DAY})
        assert missing.status_code == 422
        assert client.get(path, params={"from": DAY, "to": DAY}).status_code == 401
    # 366 days (a leap year's worth) is allowed
    assert _usage(client, headers, "2024-01-01", "2024-12-31")["emails"] == 0


def test_a_retried_sms_job_is_counted_once(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    with SmsGateway() as gateway:
        rt.settings.sms_url = gateway.url
        doc = upload(client, headers)
        create_envelope(client, headers, doc["id"], patient(phone="+79990000022"))
        gateway.fail_next(1)  # the first hand-off fails: nothing is counted
        drain(rt)
        assert gateway.requests == 1 and gateway.messages == []
        assert _usage(client, headers)["sms"]["messages"] == 0
        with rt.transaction() as session:
            job = session.scalars(select(Job).where(Job.kind == "invite")).one()
            call = JobCall(job.id, job.kind, job.attempts + 1, dict(job.payload))
        # The retry hands off and counts, then its worker dies before marking the job
        # done: the handler ran, the job row still says it must run again.
        build_handlers(rt)[call.kind](rt, call)
        assert _usage(client, headers)["sms"]["messages"] == 1
        clock.advance(minutes=10)  # past the backoff: a worker takes the job again
        drain(rt)
        assert gateway.requests == 3
        assert gateway.duplicates == 1  # handed off twice, deduplicated by the gateway
        assert len(gateway.messages) == 1
        used = _usage(client, headers)["sms"]
        assert used == {"messages": 1, "segments": sms_size(gateway.messages[0].text).segments}


def test_parallel_seals_in_one_organization_count_exactly(client: TestClient, rt: Runtime) -> None:
    """Seal jobs of one organization in eight worker threads at once (truly side by
    side on PostgreSQL): every signature counted exactly once, no error."""
    _, headers = new_org(rt)
    doc = upload(client, headers, kind="medical_record", title="Record")
    envelopes = 16
    for _ in range(envelopes):
        _sealed_envelope(client, headers, doc["id"])
    handlers = build_handlers(rt)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work() -> None:
        try:
            start.wait()
            while run_one(rt, handlers):
                pass
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    drain(rt)  # anything a thread left (notices, evidence)
    with rt.transaction() as session:
        dead = session.scalars(select(Job).where(Job.status != "done")).all()
    assert dead == []
    assert _usage(client, headers)["signatures"] == {"seal": envelopes}


def test_plan_limits_refuse_new_envelopes(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    doc = upload(client, headers, kind="medical_record", title="Record")
    with rt.transaction() as session:
        set_limits(session, org_id, {"signatures": 1, "sms": 0})
    # SMS limit 0: an envelope reaching someone by SMS is refused, email is not
    res = client.post(
        "/api/v1/envelopes",
        headers=headers,
        json={"document_id": upload(client, headers)["id"], "signers": [patient()]},
    )
    assert res.status_code == 402, res.text
    problem = res.json()
    assert problem["type"] == "/problems/plan-limit"
    assert (problem["metric"], problem["limit"], problem["used"]) == ("sms", 0, 0)
    assert problem["resets_on"] == "2026-12-01"
    _sealed_envelope(client, headers, doc["id"])
    drain(rt)
    res = client.post(
        "/api/v1/envelopes", headers=headers, json={"document_id": doc["id"], "signers": [CLINIC]}
    )
    assert res.status_code == 402, res.text
    assert (res.json()["metric"], res.json()["limit"], res.json()["used"]) == ("signatures", 1, 1)
    with rt.transaction() as session:
        assert session.scalar(select(Job.id).where(Job.kind == "nothing")) is None
        set_limits(session, org_id, {"signatures": None})
    create_envelope(client, headers, doc["id"], CLINIC)  # limit removed: allowed again


def test_org_limits_command(tmp_path: Path) -> None:
    env = {"MEDSIGN_DATA_DIR": str(tmp_path / "data")}

    def medsign(*args: str) -> CliResult:
        return run_cli(env, *args)

    created = json.loads(medsign("org", "create", "--name", "Clinic").stdout)
    org = created["organization_id"]
    done = medsign("org", "limits", "--org", org, "--sms", "500", "--signatures", "100")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["monthly_limits"] == {"signatures": 100, "sms": 500}
    done = medsign("org", "limits", "--org", org, "--sms", "none")
    assert json.loads(done.stdout)["monthly_limits"] == {"signatures": 100}
    assert medsign("org", "limits", "--org", org, "--sms", "-1").returncode == 2
    unknown = medsign("org", "limits", "--org", "no-such-org", "--sms", "1")
    assert unknown.returncode == 2 and "no organization" in unknown.stderr
