"""``medsign idp add|list``: identity providers registered from the command line, with
the same checks as the API (discovery for OpenID Connect, the GOST pair for ESIA)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medsign.identity import gost
from tests.integration.test_cli import MEDSIGN, _env
from tests.support.oidc_peer import OidcPeer


@pytest.fixture
def oidc() -> Iterator[OidcPeer]:
    """An OpenID Connect provider on loopback (only its discovery is used here)."""
    with OidcPeer(lambda: datetime.now(UTC)) as provider:
        yield provider


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MEDSIGN, *args], env=env, capture_output=True, text=True, timeout=60)


def test_idp_add_and_list(tmp_path: Path, oidc: OidcPeer) -> None:
    env = _env(tmp_path, MEDSIGN_IDP_ALLOW_HTTP="true", MEDSIGN_PUBLIC_URL="https://ms.example")
    assert _run(env, "db", "upgrade").returncode == 0
    org = json.loads(_run(env, "org", "create", "--name", "Clinic").stdout)["organization_id"]
    secret = tmp_path / "secret.txt"
    secret.write_text(oidc.client_secret + "\n")
    added = _run(
        env, "idp", "add", "--org", org, "--name", "Test ID", "--issuer", oidc.issuer,
        "--client-id", oidc.client_id, "--client-secret-file", str(secret),
        "--scopes", "openid", "profile", "snils", "--claim", "national_id=snils",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    first = json.loads(added.stdout)
    assert first["redirect_uri"] == f"https://ms.example/idp/callback/{first['id']}"

    mine, esia_cert = gost.new_credential("clinic"), gost.new_credential("ESIA")
    files = {}
    for name, text in (
        ("cert.pem", mine.certificate_pem),
        ("key.pem", mine.private_key_pem),
        ("esia.pem", esia_cert.certificate_pem),
        ("other-key.pem", gost.new_credential("x").private_key_pem),
    ):
        files[name] = tmp_path / name
        files[name].write_text(text)
    esia_args = [
        "idp", "add", "--org", org, "--name", "Gosuslugi", "--kind", "esia",
        "--issuer", "https://esia-portal1.test.gosuslugi.ru", "--client-id", "MEDSIGN",
        "--esia-cert", str(files["cert.pem"]), "--esia-provider-cert", str(files["esia.pem"]),
    ]  # fmt: skip
    added = _run(env, *esia_args, "--esia-key", str(files["key.pem"]))
    assert added.returncode == 0, added.stderr
    second = json.loads(added.stdout)

    listed = _run(env, "idp", "list", "--org", org)
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["items"]
    assert [(i["id"], i["kind"]) for i in items] == [(first["id"], "oidc"), (second["id"], "esia")]
    assert items[1]["scopes"] == ["openid", "fullname", "birthdate", "snils"]
    assert items[0]["claims"]["national_id"] == "snils"
    assert oidc.client_secret not in listed.stdout and "PRIVATE KEY" not in listed.stdout
    with sqlite3.connect(tmp_path / "data" / "medsign.sqlite3") as db:
        rows = db.execute("SELECT client_secret_enc, client_key_enc FROM identity_providers")
        stored = " ".join(str(v) for row in rows for v in row)
    assert oidc.client_secret not in stored and "PRIVATE KEY" not in stored

    refused = [
        ([*esia_args, "--esia-key", str(files["other-key.pem"])], "does not belong"),
        (esia_args, "--esia-key"),
        ([*esia_args, "--esia-key", str(tmp_path / "missing.pem")], "cannot read"),
        (["idp", "add", "--org", org, "--name", "X", "--issuer", oidc.issuer,
          "--client-id", "c"], "client_secret"),
        (["idp", "add", "--org", org, "--name", "X", "--issuer", oidc.issuer, "--client-id",
          "c", "--client-secret-file", str(secret), "--claim", "snils"], "FIELD=CLAIM"),
        (["idp", "add", "--org", org, "--name", "X", "--issuer", oidc.issuer + "/none",
          "--client-id", "c", "--client-secret-file", str(secret)], "discovery"),
        (["idp", "list", "--org", "no-such-org"], "no organization"),
    ]  # fmt: skip
    for args, message in refused:
        res = _run(env, *args)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert message in res.stderr and res.stdout == "", (args, res.stderr)
    assert len(json.loads(_run(env, "idp", "list", "--org", org).stdout)["items"]) == 2
