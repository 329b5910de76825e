"""SMS through Kavenegar's REST API (https://kavenegar.com/rest.html), the Persian provider.

What this follows, as read in Kavenegar's own SDKs and their READMEs (2026-12), since
the REST page itself was not at hand: kavenegar/kavenegar-python and the npm
``kavenegar`` package (``sms/send`` with ``receptor``, ``sender``, ``message``; the
sample answer), kavenegar/kavenegar-dotnet ``Models/Enums/MessageStatus.cs`` (the
status codes) and the error table of the ``kave_rest_api`` gem.

Send: ``POST {base}/v1/{API-KEY}/sms/send.json``, form ``receptor``, ``message`` and
optional ``sender`` (the account's line number; the default line when absent). The
answer is ``{"return": {"status": 200, "message": ...}, "entries": [{"messageid":
8792343, "status": 1, "receptor": ..., "cost": 120, ...}]}``; a refusal answers that
HTTP status with the same ``return.status``: 400 bad arguments, 401 account disabled,
402 operation failed, 403 bad API key, 407 no access, 409 server cannot answer now (try
later), 411 bad receptor, 412 bad sender, 413 bad or empty message, 414 too many
receptors, 418 not enough credit, 422 bad characters, 451 too many requests (try later).

Status: ``GET {base}/v1/{API-KEY}/sms/status.json?messageid=1,2`` answers ``entries``
of ``{"messageid", "status", "statustext"}``: 1 queued, 2 scheduled, 4 and 5 handed
to the operator, 10 delivered, 11 undelivered, 13 cancelled, 14 blocked (the person's
filter), 100 no such message id; 6 (failed) appears in client code, not in the enum.

Delivery callback: Kavenegar calls the URL set in its panel with the message's
``messageid`` (and ``status``). The call is not signed, so medsign never believes its
``status``: it only says *which* message to ask about, and the answer of the
authenticated status lookup is what counts (see :func:`callback_ids`).

The API key travels in the URL path: it is never put in ``repr``, error details or the
HTTP client's log (:func:`medsign.notify.sms_http.hide_in_logs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from medsign.notify.ports import DeliveryError, Message
from medsign.notify.sms_http import E164, PooledClient, hide_in_logs
from medsign.notify.sms_reports import SmsReport

_RETRY_CODES = frozenset({409, 451})  # "cannot answer now", "too many requests"
_DELIVERED = frozenset({10})
_FAILED = {6: "failed", 11: "undelivered", 13: "cancelled", 14: "blocked by the person"}
_MESSAGE_ID = re.compile(r"[0-9]{1,20}")
MAX_CALLBACK_IDS = 100  # message ids looked up for one callback


def receptor(e164: str) -> str:
    """Kavenegar's form of an E.164 number: Iranian numbers in national form
    (``+98912...`` -> ``0912...``, as in Kavenegar's examples), others with the
    international prefix ``00``."""
    digits = e164.removeprefix("+")
    if digits.startswith("98"):
        return "0" + digits[2:]
    return "00" + digits


class KavenegarSender(PooledClient):
    """Delivers ``channel == "sms"`` messages through Kavenegar."""

    def __init__(self, base_url: str, api_key: str, sender: str | None, timeout: float = 10):
        super().__init__(timeout)
        if not api_key or "/" in api_key:
            raise ValueError("the Kavenegar API key must be set and contain no '/'")
        self._base = base_url.rstrip("/")
        self._api = f"{self._base}/v1/{api_key}"
        self.sender = sender
        hide_in_logs(api_key)

    def __repr__(self) -> str:
        return f"KavenegarSender({self._base!r})"  # the key is in the URL: never shown

    @property
    def url(self) -> str:
        """Where messages go, without the key (for settings checks and logs)."""
        return f"{self._base}/v1/***/sms/send.json"

    def send(self, message: Message) -> str:
        """Send one SMS; return Kavenegar's ``messageid`` (callbacks name it)."""
        if message.channel != "sms" or not E164.fullmatch(message.to):
            raise DeliveryError("not an SMS to an E.164 number", retryable=False)
        form = {"receptor": receptor(message.to), "message": message.body}
        if self.sender:
            form["sender"] = self.sender
        # No idempotency key in this API: an answer lost after the request left is not
        # retried (the SMS may have gone out and been charged), as with SMS.ru and Twilio.
        response = self.post(f"{self._api}/sms/send.json", idempotent=False, data=form)
        code, entries = _answer(response)
        if code == 200 and entries:
            entry = entries[0]
            status = _int(entry.get("status"))
            if status in _FAILED:
                raise DeliveryError(
                    f"Kavenegar refused the message (status {status})", retryable=False
                )
            if _MESSAGE_ID.fullmatch(str(entry.get("messageid", ""))):
                return str(entry["messageid"])
        raise DeliveryError(
            f"Kavenegar replied {response.status_code} (code {code})",
            retryable=_retryable(code, response.status_code),
        )

    def statuses(self, message_ids: Sequence[str]) -> list[SmsReport]:
        """The final delivery reports of ``message_ids`` from the authenticated status
        lookup (interim states and unknown ids give none); raises
        :class:`DeliveryError` when Kavenegar cannot be asked now."""
        ids = [i for i in message_ids if _MESSAGE_ID.fullmatch(i)]
        if not ids:
            return []
        response = self.get(f"{self._api}/sms/status.json", params={"messageid": ",".join(ids)})
        code, entries = _answer(response)
        if code != 200:
            raise DeliveryError(
                f"Kavenegar status lookup replied {response.status_code} (code {code})",
                retryable=True,
            )
        wanted = set(ids)
        reports = []
        for entry in entries:
            ref, status = str(entry.get("messageid", "")), _int(entry.get("status"))
            if ref not in wanted:
                continue
            if status in _DELIVERED:
                reports.append(SmsReport(ref, True, f"status {status}"))
            elif status in _FAILED:
                reports.append(SmsReport(ref, False, f"status {status}: {_FAILED[status]}"))
        return reports


def callback_ids(values: Iterable[str]) -> list[str]:
    """The message ids a delivery callback names (``messageid`` values, one each or
    comma-separated); raises ValueError when there is none or one is not an id. Only
    the ids are taken: the callback is unsigned, its ``status`` is not evidence."""
    ids: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not _MESSAGE_ID.fullmatch(part):
                raise ValueError("not a Kavenegar message id")
            if part not in ids:
                ids.append(part)
    if not ids or len(ids) > MAX_CALLBACK_IDS:
        raise ValueError(f"a callback names 1 to {MAX_CALLBACK_IDS} message ids")
    return ids


def _answer(response: httpx.Response) -> tuple[int, list[dict[str, Any]]]:
    """``return.status`` (else the HTTP status) and the ``entries`` of an answer."""
    try:
        body = response.json()
        code = _int(body["return"]["status"])
        entries = body.get("entries") or []
        if not isinstance(entries, list):
            entries = []
        return code, [e for e in entries if isinstance(e, dict)]
    except (ValueError, KeyError, TypeError):
        return response.status_code, []


def _retryable(code: int, http_status: int) -> bool:
    if code in _RETRY_CODES:
        return True
    if code == http_status:  # no Kavenegar code in the answer: read the HTTP status
        return http_status >= 500 or http_status in (408, 429)
    return False


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
