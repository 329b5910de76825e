"""Texts of the cabinet's appointments (visits, booking, cancelling) in en, ru and fa;
merged into :data:`medsign.i18n.TEXTS`."""

from __future__ import annotations

VISIT_TEXTS: dict[str, dict[str, str]] = {
    "appointments": {"en": "Appointments", "ru": "Записи на приём", "fa": "نوبت‌ها"},
    "your_appointments": {
        "en": "Your appointments",
        "ru": "Ваши записи",
        "fa": "نوبت‌های شما",
    },
    "no_appointments": {
        "en": "You have no appointments yet.",
        "ru": "У вас пока нет записей.",
        "fa": "هنوز نوبتی ندارید.",
    },
    "visit_upcoming": {"en": "Upcoming", "ru": "Предстоит", "fa": "پیش رو"},
    "visit_past": {"en": "Past", "ru": "Прошла", "fa": "گذشته"},
    "visit_cancelled": {"en": "Cancelled", "ru": "Отменена", "fa": "لغو شده"},
    "cancel_reason_shown": {
        "en": "Reason: {reason}",
        "ru": "Причина: {reason}",
        "fa": "دلیل: {reason}",
    },
    "doctor": {"en": "Doctor", "ru": "Врач", "fa": "پزشک"},
    "service": {"en": "Service", "ru": "Услуга", "fa": "خدمت"},
    "visit_time": {"en": "Time", "ru": "Время", "fa": "زمان"},
    "clinic_time_zone": {
        "en": "on the clinic's clocks ({zone})",
        "ru": "по времени клиники ({zone})",
        "fa": "به وقت درمانگاه ({zone})",
    },
    "telemedicine": {"en": "Online visit", "ru": "Онлайн-приём", "fa": "ویزیت آنلاین"},
    "cancel_appointment": {
        "en": "Cancel appointment",
        "ru": "Отменить запись",
        "fa": "لغو نوبت",
    },
    "reason": {"en": "Reason", "ru": "Причина", "fa": "دلیل"},
    "reason_hint": {
        "en": "Tell the clinic why, in a few words.",
        "ru": "Коротко напишите клинике, почему.",
        "fa": "در چند کلمه به درمانگاه بگویید چرا.",
    },
    "cancel_heading": {
        "en": "Cancel this appointment?",
        "ru": "Отменить эту запись?",
        "fa": "این نوبت لغو شود؟",
    },
    "keep_appointment": {
        "en": "Keep the appointment",
        "ru": "Оставить запись",
        "fa": "نوبت را نگه دار",
    },
    "cancelled_ok": {
        "en": "The appointment is cancelled; the clinic has been told.",
        "ru": "Запись отменена, клиника получила уведомление.",
        "fa": "نوبت لغو شد و به درمانگاه اطلاع داده شد.",
    },
    "book_heading": {
        "en": "Book an appointment",
        "ru": "Записаться на приём",
        "fa": "گرفتن نوبت",
    },
    "no_slots": {
        "en": "No free times are published yet. Call the clinic, or look again later.",
        "ru": "Свободного времени пока нет. Позвоните в клинику или загляните позже.",
        "fa": "هنوز زمان آزادی منتشر نشده است. با درمانگاه تماس بگیرید یا بعداً سر بزنید.",
    },
    "book": {"en": "Book", "ru": "Записаться", "fa": "رزرو"},
    "booked_ok": {
        "en": "Booked: {service}, {doctor}, {time}.",
        "ru": "Вы записаны: {service}, {doctor}, {time}.",
        "fa": "نوبت گرفته شد: {service}، {doctor}، {time}.",
    },
    "consent_needed_heading": {
        "en": "Online visit: confirm who you are",
        "ru": "Онлайн-приём: подтвердите личность",
        "fa": "ویزیت آنلاین: هویت خود را تأیید کنید",
    },
    "consent_needed_text": {
        "en": "Before an online visit the law asks you to sign the telemedicine consent "
        "after logging in with {provider}.",
        "ru": "Перед онлайн-приёмом по закону нужно подписать согласие на телемедицину, "
        "войдя через {provider}.",
        "fa": "پیش از ویزیت آنلاین، طبق قانون باید پس از ورود با {provider} رضایت‌نامه "
        "پزشکی از راه دور را امضا کنید.",
    },
    "sign_consent": {
        "en": "Sign the telemedicine consent",
        "ru": "Подписать согласие на телемедицину",
        "fa": "امضای رضایت‌نامه پزشکی از راه دور",
    },
    "consent_then_book": {
        "en": "When it says “Signed”, come back to Appointments and press “Book” again.",
        "ru": "Когда появится «Подписано», вернитесь в «Записи на приём» и снова нажмите "
        "«Записаться».",
        "fa": "وقتی «امضا شد» نمایش داده شد، به «نوبت‌ها» برگردید و دوباره «رزرو» را بزنید.",
    },
}
