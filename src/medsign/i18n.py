"""Texts shown to people (pages and messages) in en, ru and fa (right-to-left)."""

from __future__ import annotations

LANGS: tuple[str, ...] = ("en", "ru", "fa")
RTL: frozenset[str] = frozenset({"fa"})

TEXTS: dict[str, dict[str, str]] = {
    "invite_subject": {
        "en": "Document to sign: {title}",
        "ru": "Документ на подпись: {title}",
        "fa": "سند برای امضا: {title}",
    },
    "invite_body": {
        "en": "{org} asks you to sign “{title}”. Open: {url}",
        "ru": "{org} просит вас подписать «{title}». Откройте: {url}",
        "fa": "{org} از شما می‌خواهد «{title}» را امضا کنید. باز کنید: {url}",
    },
    "code_subject": {
        "en": "Your signing code",
        "ru": "Код для подписи",
        "fa": "کد امضای شما",
    },
    "code_body": {
        "en": "Your code to sign “{title}”: {code}. It is valid for 10 minutes. "
        "Do not tell it to anyone.",
        "ru": "Код для подписи «{title}»: {code}. Действует 10 минут. Никому его не сообщайте.",
        "fa": "کد شما برای امضای «{title}»: {code}. این کد ۱۰ دقیقه اعتبار دارد. "
        "آن را به کسی نگویید.",
    },
    "method_sms_otp": {"en": "SMS code", "ru": "Код из SMS", "fa": "کد پیامکی"},
    "method_email_otp": {"en": "Email code", "ru": "Код из письма", "fa": "کد ایمیلی"},
    "title": {"en": "Sign a document", "ru": "Подписание документа", "fa": "امضای سند"},
    "from_org": {"en": "From {org}", "ru": "От: {org}", "fa": "از طرف {org}"},
    "signer_is": {"en": "Signer: {name}", "ru": "Подписывает: {name}", "fa": "امضاکننده: {name}"},
    "read_doc": {
        "en": "Read the document below, then get a code and sign.",
        "ru": "Прочитайте документ ниже, затем получите код и подпишите.",
        "fa": "سند زیر را بخوانید، سپس کد را دریافت و امضا کنید.",
    },
    "loading": {
        "en": "Loading the document…",
        "ru": "Загрузка документа…",
        "fa": "در حال بارگذاری سند…",
    },
    "open_pdf": {"en": "Open the PDF", "ru": "Открыть PDF", "fa": "باز کردن PDF"},
    "send_code": {"en": "Send code", "ru": "Получить код", "fa": "ارسال کد"},
    "code_sent_sms": {
        "en": "We sent a code by SMS to {contact}.",
        "ru": "Мы отправили код в SMS на {contact}.",
        "fa": "کد را با پیامک به {contact} فرستادیم.",
    },
    "code_sent_email": {
        "en": "We sent a code by email to {contact}.",
        "ru": "Мы отправили код на почту {contact}.",
        "fa": "کد را به ایمیل {contact} فرستادیم.",
    },
    "code": {"en": "Code", "ru": "Код", "fa": "کد"},
    "sign": {"en": "Sign", "ru": "Подписать", "fa": "امضا"},
    "consent": {
        "en": "By pressing “Sign” I sign this document with a simple electronic signature.",
        "ru": "Нажимая «Подписать», я подписываю документ простой электронной подписью.",
        "fa": "با فشردن «امضا»، این سند را با امضای الکترونیکی ساده امضا می‌کنم.",
    },
    "decline": {"en": "Decline", "ru": "Отказаться", "fa": "رد کردن"},
    "decline_reason": {
        "en": "Reason for declining (optional)",
        "ru": "Причина отказа (необязательно)",
        "fa": "دلیل رد کردن (اختیاری)",
    },
    "signed": {"en": "Signed", "ru": "Подписано", "fa": "امضا شد"},
    "signed_text": {
        "en": "Thank you. The document is signed.",
        "ru": "Спасибо. Документ подписан.",
        "fa": "سپاسگزاریم. سند امضا شد.",
    },
    "download_signed": {
        "en": "Download the signed PDF",
        "ru": "Скачать подписанный PDF",
        "fa": "دریافت PDF امضاشده",
    },
    "declined": {"en": "Declined", "ru": "Вы отказались", "fa": "رد شد"},
    "declined_text": {
        "en": "You declined to sign. The clinic has been told.",
        "ru": "Вы отказались подписывать. Клиника получит уведомление.",
        "fa": "شما امضا را رد کردید. به درمانگاه اطلاع داده شد.",
    },
    "link_dead": {
        "en": "This link no longer works",
        "ru": "Ссылка больше не действует",
        "fa": "این پیوند دیگر کار نمی‌کند",
    },
    "link_dead_text": {
        "en": "It may have expired or been replaced. Ask the clinic to send you a new one.",
        "ru": "Возможно, срок её действия истёк или её заменили. Попросите клинику прислать новую.",
        "fa": "ممکن است منقضی یا جایگزین شده باشد. از درمانگاه بخواهید پیوند تازه‌ای بفرستد.",
    },
    "not_your_turn": {
        "en": "Not your turn yet",
        "ru": "Ещё не ваша очередь",
        "fa": "هنوز نوبت شما نیست",
    },
    "not_your_turn_text": {
        "en": "Others sign before you. We will send you a message when it is your turn.",
        "ru": "Сначала подписывают другие. Мы пришлём сообщение, когда придёт ваша очередь.",
        "fa": "ابتدا دیگران امضا می‌کنند. وقتی نوبت شما شد پیام می‌فرستیم.",
    },
    "envelope_closed": {
        "en": "This document can no longer be signed",
        "ru": "Этот документ больше нельзя подписать",
        "fa": "این سند دیگر قابل امضا نیست",
    },
    "envelope_closed_text": {
        "en": "The clinic withdrew it or it expired. Contact the clinic if you have questions.",
        "ru": "Клиника отозвала документ или истёк срок. Обратитесь в клинику, если есть вопросы.",
        "fa": "درمانگاه آن را پس گرفته یا منقضی شده است. در صورت پرسش با درمانگاه تماس بگیرید.",
    },
    "error": {"en": "Something went wrong", "ru": "Что-то пошло не так", "fa": "مشکلی پیش آمد"},
    "try_again": {"en": "Try again", "ru": "Попробовать снова", "fa": "دوباره تلاش کنید"},
    "preparing": {
        "en": "The signed PDF is being prepared; this page will refresh.",
        "ru": "Подписанный PDF готовится; страница обновится.",
        "fa": "PDF امضاشده در حال آماده‌سازی است؛ این صفحه تازه می‌شود.",
    },
    "language": {"en": "Language", "ru": "Язык", "fa": "زبان"},
    "page_n": {
        "en": "Page {n} of {total}",
        "ru": "Страница {n} из {total}",
        "fa": "صفحه {n} از {total}",
    },
}


def t(key: str, lang: str, **params: object) -> str:
    """The text ``key`` in ``lang`` (falls back to English), with ``params`` filled in."""
    entry = TEXTS[key]
    text = entry.get(lang, entry["en"])
    return text.format(**params) if params else text


def pick_lang(explicit: str | None, accept_language: str | None, default: str = "en") -> str:
    """``?lang=`` if valid, else the first supported language in Accept-Language (RFC 9110)."""
    if explicit is not None and explicit in LANGS:
        return explicit
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return default if default in LANGS else "en"
