"""The settings area's pages (admins), gathered into one router for the app."""

from __future__ import annotations

from fastapi import APIRouter

from medsign.web.pages.console import (
    settings_identity,
    settings_notify,
    settings_org,
    settings_seal,
    settings_tokens,
    settings_usage,
    settings_webhooks,
)

router = APIRouter(include_in_schema=False)
for _section in (
    settings_identity,
    settings_webhooks,
    settings_tokens,
    settings_org,
    settings_notify,
    settings_seal,
    settings_usage,
):
    router.include_router(_section.router)
