"""``medsign idp add|list|update``: identity providers registered from the command line,
with the same checks as the API (discovery for OpenID Connect, the GOST pair for ESIA),
and offered for cabinet login (``--cabinet-login``; in-process through ``main(argv)``)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medsign.cli.main import main
from medsign.identity import gost
from medsign.runtime import Runtime
from medsign.settings import Settings
from tests.integration.test_cli import _env
from tests.support.api import new_org
from tests.support.cli import CliResult, run_cli, settings_only
from tests.support.idp_flow import audited
from tests.support.oidc_peer import OidcPeer


@dataclass(frozen=True)
class Cli:
    """``medsign ...`` in this process with ``env``'s settings: (exit code, stdout, stderr)."""

    env: dict[str, str]

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        res = run_cli(self.env, *argv)
        return res.returncode, res.stdout, res.stderr


@pytest.fixture
def oidc() -> Iterator[OidcPeer]:
    """An OpenID Connect provider on loopback (only its discovery is used here)."""
    with OidcPeer(lambda: datetime.now(UTC)) as provider:
        yield provider


def _run(env: dict[str, str], *args: str) -> CliResult:
    return run_cli(env, *args)


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


@pytest.fixture
def cli(settings: Settings, rt: Runtime, tmp_path: Path) -> Cli:
    """``medsign ...`` in this process, on the test's database and deployment secret."""
    assert settings.secret_key is not None and rt
    return Cli(
        {
            "MEDSIGN_DATA_DIR": str(tmp_path / "cli-data"),
            "MEDSIGN_DATABASE_URL": settings.resolved_database_url,
            "MEDSIGN_SECRET_KEY": settings.secret_key.get_secret_value(),
            "MEDSIGN_PUBLIC_URL": "https://ms.example",
            "MEDSIGN_IDP_ALLOW_HTTP": "true",
        }
    )


def _add(cli: Cli, org: str, oidc: OidcPeer, secret: Path, *extra: str) -> tuple[int, str, str]:
    return cli(
        "idp", "add", "--org", org, "--name", "Test ID", "--issuer", oidc.issuer,
        "--client-id", oidc.client_id, "--client-secret-file", str(secret), *extra,
    )  # fmt: skip


def _flags(client: TestClient, headers: dict[str, str]) -> dict[str, bool]:
    items = client.get("/api/v1/identity-providers", headers=headers).json()["items"]
    return {i["id"]: i["cabinet_login"] for i in items}


def test_cabinet_login_at_add_and_update(
    cli: Cli, client: TestClient, rt: Runtime, oidc: OidcPeer, tmp_path: Path
) -> None:
    org, headers = new_org(rt)
    secret = tmp_path / "secret.txt"
    secret.write_text(oidc.client_secret)
    assert ">Log in with Test ID<" not in client.get("/cabinet?lang=en").text
    ids = {}
    for given, offered in (
        (["--cabinet-login"], True),
        (["--cabinet-login", "No"], False),
        ([], False),
    ):
        code, out, err = _add(cli, org, oidc, secret, *given)
        assert code == 0, err
        ids[json.loads(out)["id"]] = offered
    assert _flags(client, headers) == ids
    # The cabinet offers the marked one: a patient sees its button.
    assert ">Log in with Test ID<" in client.get("/cabinet?lang=en").text
    first, second, _third = ids
    code, out, err = cli("idp", "update", "--org", org, "--id", second, "--cabinet-login", "yes")
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["id"], shown["cabinet_login"]) == (second, True)
    assert shown["redirect_uri"] == f"https://ms.example/idp/callback/{second}"
    assert oidc.client_secret not in out
    code, out, err = cli("idp", "update", "--org", org, "--id", first, "--cabinet-login", "off")
    assert code == 0 and json.loads(out)["cabinet_login"] is False, err
    # Setting what is already set changes nothing and records nothing.
    assert cli("idp", "update", "--org", org, "--id", first, "--cabinet-login", "0")[0] == 0
    assert _flags(client, headers) == {first: False, second: True, _third: False}
    changes = [
        (e["provider_id"], e["cabinet_login"]) for e in audited(rt, "identity_provider.updated")
    ]
    assert changes == [(second, True), (first, False)]


def test_bad_cabinet_login_values_are_refused(
    cli: Cli, client: TestClient, rt: Runtime, oidc: OidcPeer, tmp_path: Path
) -> None:
    org, headers = new_org(rt)
    other_org, other_headers = new_org(rt, "Clinic Two")
    secret = tmp_path / "secret.txt"
    secret.write_text(oidc.client_secret)
    code, out, err = _add(cli, org, oidc, secret)
    assert code == 0, err
    provider = json.loads(out)["id"]
    update = ["idp", "update", "--org", org, "--id", provider]
    refused = [
        (["--cabinet-login", "maybe"], "argument --cabinet-login: expected yes or no, not 'maybe'"),
        (["--cabinet-login", "2"], "expected yes or no, not '2'"),
        ([], "nothing to change: give --cabinet-login yes|no"),
    ]
    for extra, message in refused:
        code, out, err = cli(*update, *extra)
        assert (code, out) == (2, ""), (extra, err)
        assert message in err, (extra, err)
    code, out, err = _add(cli, org, oidc, secret, "--cabinet-login=perhaps")
    assert (code, out) == (2, "") and "expected yes or no, not 'perhaps'" in err
    others = [
        (["idp", "update", "--org", org, "--id", "no-such-provider", "--cabinet-login", "yes"],
         "No identity provider no-such-provider in this organization"),
        (["idp", "update", "--org", other_org, "--id", provider, "--cabinet-login", "yes"],
         f"No identity provider {provider} in this organization"),
        (["idp", "update", "--org", "no-such-org", "--id", provider, "--cabinet-login", "yes"],
         "no organization no-such-org"),
    ]  # fmt: skip
    for argv, message in others:
        code, out, err = cli(*argv)
        assert (code, out) == (2, "") and message in err, (argv, err)
    # Nothing was added or changed by any refusal.
    assert _flags(client, headers) == {provider: False}
    assert _flags(client, other_headers) == {}
    assert audited(rt, "identity_provider.updated") == []


def test_parallel_updates_change_once(
    cli: Cli, client: TestClient, rt: Runtime, oidc: OidcPeer, tmp_path: Path
) -> None:
    """Operators (or scripts) setting the mark at once: every run succeeds, the flag is
    set, and the change is recorded once."""
    org, headers = new_org(rt)
    secret = tmp_path / "secret.txt"
    secret.write_text(oidc.client_secret)
    code, out, err = _add(cli, org, oidc, secret)
    assert code == 0, err
    provider = json.loads(out)["id"]
    n = 4
    go = threading.Barrier(n)
    codes: list[int] = []

    argv = ["idp", "update", "--org", org, "--id", provider, "--cabinet-login", "yes"]

    def update() -> None:
        go.wait()
        codes.append(main(argv))

    threads = [threading.Thread(target=update) for _ in range(n)]
    with settings_only(cli.env):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert codes == [0] * n
    assert _flags(client, headers) == {provider: True}
    assert len(audited(rt, "identity_provider.updated")) == 1
