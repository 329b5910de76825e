"""``medsign staff create`` (shared/API.md "Staff console"): prints {"staff_id",
"password"}, the password logs in at /console, and bad arguments fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.support.cli import CliResult, run_cli
from tests.support.console import csrf_of


def _run(env: dict[str, str], *args: str) -> CliResult:
    return run_cli(env, *args)


def test_staff_create_prints_a_password_that_logs_in(tmp_path: Path) -> None:
    env = {"MEDSIGN_DATA_DIR": str(tmp_path / "data")}
    org = _run(env, "org", "create", "--name", "Clinic")
    assert org.returncode == 0, org.stderr
    org_id = json.loads(org.stdout)["organization_id"]
    made = _run(
        env,
        "staff",
        "create",
        "--org",
        org_id,
        "--email",
        "Admin@Clinic.example",
        "--role",
        "admin",
    )
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert set(created) == {"staff_id", "password"} and len(created["password"]) >= 12
    listed = json.loads(_run(env, "staff", "list", "--org", org_id).stdout)
    assert listed["items"][0]["email"] == "admin@clinic.example"
    assert listed["items"][0]["role"] == "admin"

    again = _run(
        env,
        "staff",
        "create",
        "--org",
        org_id,
        "--email",
        "admin@clinic.example",
        "--role",
        "viewer",
    )
    assert again.returncode == 2 and "already exists" in again.stderr and again.stdout == ""
    role = _run(
        env, "staff", "create", "--org", org_id, "--email", "b@clinic.example", "--role", "boss"
    )
    assert role.returncode == 2 and "--role" in role.stderr
    nobody = _run(
        env,
        "staff",
        "create",
        "--org",
        "no-such-org",
        "--email",
        "c@clinic.example",
        "--role",
        "viewer",
    )
    assert nobody.returncode == 2 and "organization" in nobody.stderr
    email = _run(
        env, "staff", "create", "--org", org_id, "--email", "not-an-email", "--role", "viewer"
    )
    assert email.returncode == 2 and "email" in email.stderr

    settings = Settings(data_dir=tmp_path / "data", in_process_worker=False, _env_file=None)
    rt = Runtime.build(settings)
    try:
        with TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False) as client:
            form = client.get("/console/login")
            res = client.post(
                "/console/login",
                data={
                    "email": "admin@clinic.example",
                    "password": created["password"],
                    "csrf": csrf_of(form.text),
                },
            )
            assert res.status_code == 303 and res.headers["location"] == "/console"
            assert client.get("/console/staff").status_code == 200
    finally:
        rt.close()
