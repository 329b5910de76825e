"""Telegram bot messages through the Bot API (https://core.telegram.org/bots/api).

``POST {api}/bot<token>/sendMessage`` with JSON ``{"chat_id", "text"}``; the answer is
``{"ok": true, "result": {"message_id", ...}}`` or ``{"ok": false, "error_code",
"description", "parameters": {"retry_after"}}``. 429 and 5xx are worth retrying; 403
means the person blocked the bot, 400 a chat that does not exist: both final. A chat is
linked when the person opens ``https://t.me/<bot>?start=<token>`` and presses Start:
the bot receives ``/start <token>`` in an update (webhook, checked with the
``X-Telegram-Bot-Api-Secret-Token`` header set by ``setWebhook``'s ``secret_token``).
"""

from __future__ import annotations

from typing import Any

from medsign.notify.ports import DeliveryError, Message
from medsign.notify.sms_http import PooledClient, hide_in_logs

MAX_TEXT = 4096  # Bot API: sendMessage text is 1-4096 characters


class TelegramSender(PooledClient):
    """Delivers ``channel == "telegram"`` messages; ``to`` is the chat id."""

    def __init__(self, api_url: str, token: str, timeout: float = 10) -> None:
        super().__init__(timeout)
        self._url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        hide_in_logs(token)  # the token is in the URL path

    def __repr__(self) -> str:
        return "TelegramSender()"  # the URL holds the token

    def send(self, message: Message) -> str:
        """Send the text to the chat; return Telegram's message id."""
        if message.channel != "telegram":
            raise DeliveryError("TelegramSender only sends telegram messages", retryable=False)
        text = f"{message.subject}\n\n{message.body}" if message.subject else message.body
        payload = {"chat_id": message.to, "text": text[:MAX_TEXT]}
        response = self.post(self._url, idempotent=False, json=payload)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("ok"):
            return str(body.get("result", {}).get("message_id", ""))
        status = response.status_code
        raise DeliveryError(
            f"Telegram replied {status} ({body.get('error_code', '-')})",
            retryable=status >= 500 or status == 429,
        )


def start_token(update: dict[str, Any]) -> tuple[str, str] | None:
    """``(token, chat_id)`` when ``update`` is a private ``/start <token>`` message."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    text, chat = message.get("text"), message.get("chat")
    if not isinstance(text, str) or not isinstance(chat, dict) or "id" not in chat:
        return None
    command, _, token = text.partition(" ")
    if command.split("@")[0] != "/start" or not token.strip():
        return None
    return token.strip(), str(chat["id"])
