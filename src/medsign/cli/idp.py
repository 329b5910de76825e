"""``medsign idp add|list|update``: an organization's identity providers from the command
line (the same checks and storage as ``/api/v1/identity-providers``).

Secrets and keys are read from files the operator names, never from the command line
(where ``ps`` and shell history would show them). ``add`` prints ``{"id",
"redirect_uri"}``; ``list`` prints one JSON object with ``items``; ``update`` (what
``PATCH`` may change: whether the patient cabinet offers the provider for logging in)
prints the provider as ``list`` shows it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from medsign.identity import service
from medsign.identity.protocol import Http
from medsign.identity.schemas import ProviderIn
from medsign.organizations.models import Organization


class _Refused(Exception):
    """A bad argument: its message goes to stderr and the command exits 2."""


def _read(path: str | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise _Refused(f"cannot read {what} from {path}: {exc}") from None


_YES = ("yes", "true", "on", "1")
_NO = ("no", "false", "off", "0")


def yes_no(value: str) -> bool:
    """An argparse type: yes/true/on/1 or no/false/off/0, any case; else a usage error."""
    word = value.strip().lower()
    if word in _YES or word in _NO:
        return word in _YES
    raise argparse.ArgumentTypeError(f"expected yes or no, not {value!r}")


def _claims(pairs: list[str]) -> dict[str, str]:
    claims: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise _Refused(f"--claim takes FIELD=CLAIM (e.g. national_id=snils), not {pair!r}")
        claims[key] = value
    return claims


def provider_body(args: argparse.Namespace) -> ProviderIn:
    """The registration the arguments describe, validated like the API's body."""
    body: dict[str, Any] = {
        "kind": args.kind,
        "name": args.name,
        "issuer": args.issuer,
        "client_id": args.client_id,
        "client_secret": _read(args.client_secret_file, "the client secret"),
        "cabinet_login": args.cabinet_login,
    }
    if args.scopes:
        body["scopes"] = args.scopes
    if args.claim:
        body["claims"] = _claims(args.claim)
    files = (args.esia_cert, args.esia_key, args.esia_provider_cert)
    if args.kind == "esia":
        if None in files:
            raise _Refused("--kind esia needs --esia-cert, --esia-key and --esia-provider-cert")
        body["esia"] = {
            "client_certificate": _read(args.esia_cert, "the client certificate"),
            "client_private_key": _read(args.esia_key, "the private key"),
            "provider_certificate": _read(args.esia_provider_cert, "ESIA's certificate"),
        }
    elif any(files):
        raise _Refused("--esia-* options need --kind esia")
    try:
        return ProviderIn(**{k: v for k, v in body.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise _Refused(problems) from None


def cmd_idp_add(args: argparse.Namespace) -> int:
    """Register a provider for ``--org``; print {"id", "redirect_uri"}."""
    from medsign.cli.main import _settings
    from medsign.runtime import Runtime

    try:
        body = provider_body(args)
    except _Refused as exc:
        print(f"medsign: {exc}", file=sys.stderr)
        return 2
    s = _settings()
    rt = Runtime.build(s)
    http = Http(httpx.Client(follow_redirects=False, trust_env=False), s.idp_timeout_seconds)
    try:
        with rt.transaction(write=False) as session:
            if session.get(Organization, args.org) is None:
                print(f"medsign: no organization {args.org}", file=sys.stderr)
                return 2
        discovery = service.discover_provider(http, body, allow_http=s.idp_allow_http)
        with rt.transaction() as session:
            provider = service.register_provider(
                session, rt.keyring, args.org, body, discovery, now=rt.clock(), actor="cli"
            )
            uri = service.redirect_uri(s.public_url, provider.id)
            created = {"id": provider.id, "redirect_uri": uri}
    finally:
        http.client.close()
        rt.close()
    print(json.dumps(created))
    return 0


def cmd_idp_list(args: argparse.Namespace) -> int:
    """Print ``--org``'s providers as the API lists them."""
    from medsign.cli.main import _settings
    from medsign.runtime import Runtime

    s = _settings()
    rt = Runtime.build(s)
    try:
        with rt.transaction(write=False) as session:
            if session.get(Organization, args.org) is None:
                print(f"medsign: no organization {args.org}", file=sys.stderr)
                return 2
            items = [
                service.provider_out(p, s.public_url).model_dump(mode="json")
                for p in service.list_providers(session, args.org)
            ]
    finally:
        rt.close()
    print(json.dumps({"items": items}, ensure_ascii=False))
    return 0


def cmd_idp_update(args: argparse.Namespace) -> int:
    """Change what ``PATCH /api/v1/identity-providers/{id}`` may change; print the
    provider (an unknown provider, or another organization's, exits 2)."""
    from medsign.cli.main import _settings
    from medsign.runtime import Runtime

    if args.cabinet_login is None:
        print("medsign: nothing to change: give --cabinet-login yes|no", file=sys.stderr)
        return 2
    s = _settings()
    rt = Runtime.build(s)
    try:
        with rt.transaction() as session:
            if session.get(Organization, args.org) is None:
                print(f"medsign: no organization {args.org}", file=sys.stderr)
                return 2
            provider = service.set_cabinet_login(
                session, args.org, args.id, args.cabinet_login, now=rt.clock(), actor="cli"
            )
            out = service.provider_out(provider, s.public_url).model_dump(mode="json")
    finally:
        rt.close()
    print(json.dumps(out, ensure_ascii=False))
    return 0


def add_idp_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``medsign idp ...``."""
    idp = sub.add_parser("idp", help="identity providers of an organization")
    idp_sub = idp.add_subparsers(dest="idp_command", required=True)
    add = idp_sub.add_parser("add", help="register an OpenID Connect or ESIA provider")
    add.add_argument("--org", required=True, help="organization id")
    add.add_argument("--name", required=True, help='shown as "Sign with <name>"')
    add.add_argument("--issuer", required=True, help="OIDC issuer, or ESIA's base URL")
    add.add_argument("--client-id", required=True, help="client id (ESIA: the mnemonic)")
    add.add_argument("--client-secret-file", help="file holding the client secret (oidc)")
    add.add_argument("--scopes", nargs="+", help="scopes (default: by kind)")
    add.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="FIELD=CLAIM",
        help="which claim carries name, birth_date or national_id (repeatable)",
    )
    add.add_argument("--kind", choices=["oidc", "esia"], default="oidc")
    add.add_argument("--esia-cert", help="ESIA: the system's GOST certificate (PEM file)")
    add.add_argument("--esia-key", help="ESIA: its private key (PEM file)")
    add.add_argument("--esia-provider-cert", help="ESIA: ESIA's certificate (PEM file)")
    add.add_argument(
        "--cabinet-login",
        nargs="?",
        const=True,
        default=False,
        type=yes_no,
        metavar="yes|no",
        help="offer it for logging in to the patient cabinet (alone: yes; default: no)",
    )
    add.set_defaults(func=cmd_idp_add)
    listing = idp_sub.add_parser("list", help="list an organization's providers")
    listing.add_argument("--org", required=True, help="organization id")
    listing.set_defaults(func=cmd_idp_list)
    update = idp_sub.add_parser("update", help="change a provider's settings")
    update.add_argument("--org", required=True, help="organization id")
    update.add_argument("--id", required=True, help="the provider's id")
    update.add_argument(
        "--cabinet-login",
        type=yes_no,
        metavar="yes|no",
        help="offer it for logging in to the patient cabinet, or stop offering it",
    )
    update.set_defaults(func=cmd_idp_update)
