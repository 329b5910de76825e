"""SMS through SMS.ru's HTTP API, as documented at https://sms.ru/api/send and
https://sms.ru/api/callback (read 2026-12).

Send: ``POST {base}/sms/send`` with form fields ``api_id`` (the account's key), ``to``
(digits without ``+``), ``msg``, optional ``from`` and ``json=1``. The answer is JSON:
``{"status": "OK", "status_code": 100, "sms": {"7999...": {"status": "OK",
"status_code": 100, "sms_id": "000000-10000000"}}}``; per number or for the whole
request ``status: "ERROR"`` with a code: 200 bad ``api_id``, 201 no money, 202 bad
number, 204 sender not approved, 207 number not served, 209 stop list, 220 service
busy (try later), 230-232 per-number limits.

Callbacks: ``POST`` form with ``data[0]``, ``data[1]``, ... each
``"sms_status\\n<sms_id>\\n<status_code>\\n<unix time>"`` and ``hash``, the SHA-256
(hex) of ``api_id`` followed by every ``data`` entry (checked against SMS.ru's sample
handler: :func:`smsru_hash`); the receiver answers ``100``.
Status codes: 100-102 on the way, 103 delivered, 104 expired, 105 deleted by the
operator, 106 phone failure, 107 unknown reason, 108 rejected, 110 read, 150 no route.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from medsign.notify.ports import DeliveryError, Message
from medsign.notify.sms_http import E164, PooledClient
from medsign.notify.sms_reports import SmsReport

_RETRY_CODES = frozenset({220})  # "service temporarily unavailable, try later"
_DELIVERED = frozenset({"103", "110"})
_FAILED = {
    "104": "expired",
    "105": "deleted by the operator",
    "106": "phone failure",
    "107": "unknown reason",
    "108": "rejected",
    "150": "no route",
}


def smsru_hash(api_id: str, data: Sequence[str]) -> str:
    """The ``hash`` field of a callback with these ``data`` entries.

    Checked (2026-12) against SMS.ru's own sample handler from https://sms.ru/api/callback,
    as reproduced verbatim in public projects: ``$hash = ""; foreach ($_POST["data"] as
    $entry) { $hash .= $entry; }`` then ``$_POST["hash"] == hash("sha256",
    $api_id.$hash)``, i.e. lower-case hex SHA-256 of the ``api_id`` followed by the
    entries in the order posted, with no separator. (Its comment says "md5", its code
    uses SHA-256; the code is what SMS.ru runs against.) The handler answers ``100``.
    """
    return hashlib.sha256((api_id + "".join(data)).encode()).hexdigest()


class SmsRuSender(PooledClient):
    """Delivers ``channel == "sms"`` messages through SMS.ru."""

    def __init__(self, base_url: str, api_id: str, sender: str | None, timeout: float = 10) -> None:
        super().__init__(timeout)
        self.url = base_url.rstrip("/") + "/sms/send"
        self._api_id = api_id
        self.sender = sender

    def __repr__(self) -> str:
        return f"SmsRuSender({self.url!r})"  # no key

    def send(self, message: Message) -> str:
        """Send one SMS; return SMS.ru's ``sms_id`` (callbacks name it)."""
        if message.channel != "sms" or not E164.fullmatch(message.to):
            raise DeliveryError("not an SMS to an E.164 number", retryable=False)
        number = message.to.removeprefix("+")
        form = {"api_id": self._api_id, "to": number, "msg": message.body, "json": "1"}
        if self.sender:
            form["from"] = self.sender
        # SMS.ru takes no idempotency key: a lost answer is not retried (no double SMS).
        response = self.post(self.url, idempotent=False, data=form)
        if response.status_code >= 500:
            raise DeliveryError(f"SMS.ru replied {response.status_code}", retryable=True)
        try:
            body = response.json()
            entry = body.get("sms", {}).get(number) or body
            code = int(entry.get("status_code") or body.get("status_code") or 0)
        except (ValueError, AttributeError) as exc:
            raise DeliveryError(
                "SMS.ru answered something that is not its JSON", retryable=True
            ) from exc
        if entry.get("status") == "OK" and code == 100 and entry.get("sms_id"):
            return str(entry["sms_id"])
        raise DeliveryError(
            f"SMS.ru refused the message (code {code})", retryable=code in _RETRY_CODES
        )


def smsru_reports(api_id: str, data: Sequence[str], given_hash: str | None) -> list[SmsReport]:
    """The final delivery reports in a callback; raises ValueError when ``hash`` is
    missing or wrong. Interim statuses and other kinds of entry are skipped."""
    if not given_hash or not hmac.compare_digest(smsru_hash(api_id, data), given_hash.lower()):
        raise ValueError("bad SMS.ru callback hash")
    reports = []
    for entry in data:
        lines = entry.split("\n")
        if len(lines) < 3 or lines[0] != "sms_status":
            continue
        sms_id, code = lines[1].strip(), lines[2].strip()
        if code in _DELIVERED:
            reports.append(SmsReport(sms_id, True, f"status {code}"))
        elif code in _FAILED:
            reports.append(SmsReport(sms_id, False, f"status {code}: {_FAILED[code]}"))
    return reports
