"""Settings: the seal certificate in force and uploading the organization's own
(PKCS#12, or a PEM key with its certificate and chain), checked by
:mod:`medsign.pki.seal_upload` and stored beside the development seals; a refusal says
what is wrong and leaves the seal in force unchanged."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from medsign.organizations.models import Organization
from medsign.organizations.seal import upload_seal
from medsign.pki.seal_upload import (
    MAX_UPLOAD_BYTES,
    parse_seal_upload,
    seal_info,
    uploaded_seal_version,
)
from medsign.staff.schemas import Actor
from medsign.web.deps import runtime
from medsign.web.pages.console.session import answer
from medsign.web.pages.console.settings_forms import (
    BASE,
    settings_form,
    settings_page,
    settings_read,
)

router = APIRouter(prefix=f"{BASE}/seal", include_in_schema=False)
HERE = f"{BASE}/seal"


def _page(request: Request, *, status_code: int = 200, error: str = "") -> Response:
    rt = runtime(request)

    def run() -> Response:
        with settings_read(request) as (session, actor):
            org = session.get(Organization, actor.organization_id)
            assert org is not None
            org_id, name = org.id, org.name
        seal = rt.seal_keys.for_organization(org_id, name)
        if uploaded_seal_version(rt.seal_keys.organization_dir(org_id)) is not None:
            source = "uploaded"
        elif rt.settings.seal_key_file is not None:
            source = "configured"
        else:
            source = "development"
        return settings_page(
            request,
            "console/settings_seal.html",
            actor,
            status_code=status_code,
            info=seal_info(seal),
            source=source,
            error=error,
        )

    return answer(request, run)


@router.get("")
def seal(request: Request) -> Response:
    """The seal in force (where it comes from, subject, issuer, validity, fingerprint)."""
    return _page(request)


async def _read(upload: UploadFile | str | None) -> bytes:
    if not isinstance(upload, UploadFile):
        return b""
    return await upload.read(MAX_UPLOAD_BYTES + 1)


@router.post("")
async def upload(request: Request) -> Response:
    """Upload a seal: a PKCS#12 file and its password, or a PEM key and a PEM file of
    the certificate followed by its issuers."""
    async with request.form(max_files=3, max_fields=10) as form:
        files = {name: await _read(form.get(name)) for name in ("pkcs12", "key", "certificate")}
        password = str(form.get("password", ""))[:200]
        csrf = str(form.get("csrf", ""))[:64]
    return await run_in_threadpool(_upload, request, csrf, files, password)


def _upload(request: Request, csrf: str, files: dict[str, bytes], password: str) -> Response:
    rt = runtime(request)

    def work(session: Session, actor: Actor) -> None:
        checked = parse_seal_upload(
            now=rt.clock(),
            pkcs12_data=files["pkcs12"],
            password=password,
            key_pem=files["key"],
            certs_pem=files["certificate"],
        )
        upload_seal(
            session,
            rt.seal_keys.organization_dir(actor.organization_id),
            actor.organization_id,
            checked,
            now=rt.clock(),
            actor=actor.audit_name,
        )

    return settings_form(
        request,
        csrf,
        work,
        lambda _none: RedirectResponse(HERE, status_code=303),
        lambda status, message: _page(request, status_code=status, error=message),
        org_only=True,
    )
