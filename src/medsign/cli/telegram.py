"""``medsign telegram set-webhook``: point the Telegram bot's webhook at medsign.

Calls the Bot API's ``setWebhook`` with the URL of
``/api/v1/notifications/callbacks/telegram`` under ``MEDSIGN_PUBLIC_URL`` and the
``secret_token`` medsign derives from its secret key, so updates without it are
refused (docs/notifications.md "Telegram"). Prints the Bot API's JSON answer; exits 2
when Telegram is not configured or refuses.
"""

from __future__ import annotations

import argparse
import json
import sys

import httpx

from medsign.notify.dispatch import callback_url
from medsign.notify.service import telegram_webhook_secret


def cmd_set_webhook(args: argparse.Namespace) -> int:
    """Register the webhook with Telegram."""
    from medsign.cli.main import _settings
    from medsign.runtime import Runtime

    settings = _settings()
    if settings.telegram_bot_token is None:
        print("medsign: MEDSIGN_TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        return 2
    rt = Runtime.build(settings)
    try:
        secret = telegram_webhook_secret(rt.keyring)
    finally:
        rt.close()
    token = settings.telegram_bot_token.get_secret_value()
    url = f"{settings.telegram_api_url.rstrip('/')}/bot{token}/setWebhook"
    payload = {
        "url": callback_url(settings, "telegram"),
        "secret_token": secret,
        "allowed_updates": ["message"],
    }
    try:
        response = httpx.post(url, json=payload, timeout=settings.idp_timeout_seconds)
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        print(f"medsign: cannot reach the Bot API ({type(exc).__name__})", file=sys.stderr)
        return 2
    print(json.dumps(answer, ensure_ascii=False))
    return 0 if answer.get("ok") else 2


def add_telegram_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``telegram set-webhook`` to the CLI."""
    telegram = sub.add_parser("telegram", help="the Telegram bot of the notification channel")
    telegram_sub = telegram.add_subparsers(dest="telegram_command", required=True)
    telegram_sub.add_parser(
        "set-webhook", help="point the bot's webhook at this medsign (with its secret token)"
    ).set_defaults(func=cmd_set_webhook)
