"""Texts of push notifications: the cabinet's and the clinician app's "Notifications on
this device", and the notification a clinician's device gets for a new request."""

from __future__ import annotations

PUSH_TEXTS: dict[str, dict[str, str]] = {
    "push_heading": {
        "en": "Notifications on this device",
        "ru": "Уведомления на этом устройстве",
        "fa": "اعلان‌ها در این دستگاه",
    },
    "push_text": {
        "en": "Get a notification on this device when a clinic sends you a document or "
        "reminds you of a visit. Your clinic then writes by email or SMS only when this "
        "device has not shown it.",
        "ru": "Получайте уведомление на этом устройстве, когда клиника присылает документ "
        "или напоминает о приёме. Тогда письмо или SMS придут, только если устройство "
        "его не показало.",
        "fa": "وقتی درمانگاه برای شما سندی می‌فرستد یا نوبتی را یادآوری می‌کند، در این "
        "دستگاه اعلان بگیرید. در این صورت ایمیل یا پیامک فقط وقتی فرستاده می‌شود که این "
        "دستگاه اعلان را نشان نداده باشد.",
    },
    "push_turn_on": {
        "en": "Turn on notifications",
        "ru": "Включить уведомления",
        "fa": "روشن کردن اعلان‌ها",
    },
    "push_turn_off": {
        "en": "Turn off notifications",
        "ru": "Выключить уведомления",
        "fa": "خاموش کردن اعلان‌ها",
    },
    "push_is_on": {
        "en": "Notifications are on for this device.",
        "ru": "Уведомления на этом устройстве включены.",
        "fa": "اعلان‌ها برای این دستگاه روشن است.",
    },
    "push_is_off": {
        "en": "Notifications are off for this device.",
        "ru": "Уведомления на этом устройстве выключены.",
        "fa": "اعلان‌ها برای این دستگاه خاموش است.",
    },
    "push_denied": {
        "en": "This browser blocks notifications from this site. Allow them in the "
        "browser's site settings, then press the button again.",
        "ru": "Браузер запрещает уведомления от этого сайта. Разрешите их в настройках "
        "сайта в браузере и нажмите кнопку ещё раз.",
        "fa": "این مرورگر اعلان‌های این سایت را مسدود کرده است. آن‌ها را در تنظیمات سایت "
        "در مرورگر مجاز کنید و دوباره دکمه را بزنید.",
    },
    "push_failed": {
        "en": "Notifications could not be changed ({reason}). Try again later.",
        "ru": "Не удалось изменить уведомления ({reason}). Попробуйте позже.",
        "fa": "تغییر اعلان‌ها ممکن نشد ({reason}). بعداً دوباره تلاش کنید.",
    },
    # The clinician app (``app_`` keys reach its script, web/pages/clinician_app.py).
    "app_push_turn_on": {
        "en": "Turn on notifications",
        "ru": "Включить уведомления",
        "fa": "روشن کردن اعلان‌ها",
    },
    "app_push_turn_off": {
        "en": "Turn off notifications",
        "ru": "Выключить уведомления",
        "fa": "خاموش کردن اعلان‌ها",
    },
    "app_push_is_on": {
        "en": "Notifications are on: new requests are announced even when the app is closed.",
        "ru": "Уведомления включены: о новых запросах вы узнаете, даже когда приложение закрыто.",
        "fa": "اعلان‌ها روشن است: درخواست‌های تازه حتی وقتی برنامه بسته است اعلام می‌شوند.",
    },
    "app_push_is_off": {
        "en": "Notifications are off: new requests appear while the app is open.",
        "ru": "Уведомления выключены: новые запросы появляются, пока приложение открыто.",
        "fa": "اعلان‌ها خاموش است: درخواست‌های تازه وقتی برنامه باز است نمایش داده می‌شوند.",
    },
    "app_push_denied": {
        "en": "This browser blocks notifications from this app. Allow them in its site "
        "settings, then press the button again.",
        "ru": "Браузер запрещает уведомления этого приложения. Разрешите их в настройках "
        "сайта и нажмите кнопку ещё раз.",
        "fa": "این مرورگر اعلان‌های این برنامه را مسدود کرده است. آن‌ها را در تنظیمات سایت "
        "مجاز کنید و دوباره دکمه را بزنید.",
    },
    "app_push_title": {
        "en": "Signing request",
        "ru": "Запрос на подпись",
        "fa": "درخواست امضا",
    },
    "app_push_body": {
        "en": "{org} asks you to sign “{title}”.",
        "ru": "{org} просит подписать «{title}».",
        "fa": "{org} از شما می‌خواهد «{title}» را امضا کنید.",
    },
}
