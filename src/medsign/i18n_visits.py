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
        "en": "This time is held for you until {time}. When the page says “Signed”, come "
        "back to Appointments: the visit is booked for you.",
        "ru": "Это время закреплено за вами до {time}. Когда появится «Подписано», "
        "вернитесь в «Записи на приём»: запись будет оформлена автоматически.",
        "fa": "این زمان تا {time} برای شما نگه داشته شده است. وقتی «امضا شد» نمایش داده "
        "شد، به «نوبت‌ها» برگردید: نوبت به‌طور خودکار برای شما ثبت می‌شود.",
    },
    "held_for_you": {
        "en": "Held for you until {time} while you sign the consent.",
        "ru": "Закреплено за вами до {time}, пока вы подписываете согласие.",
        "fa": "تا {time} برای شما نگه داشته شده تا رضایت‌نامه را امضا کنید.",
    },
    "hold_lost": {
        "en": "The online visit time you held went to another patient before the consent "
        "was signed (a time is held for a few minutes). Pick another time below.",
        "ru": "Время онлайн-приёма, закреплённое за вами, заняли, пока согласие не было "
        "подписано (время закрепляется на несколько минут). Выберите другое время ниже.",
        "fa": "زمان ویزیت آنلاینی که برایتان نگه داشته شده بود، پیش از امضای رضایت‌نامه به "
        "بیمار دیگری رسید (زمان فقط چند دقیقه نگه داشته می‌شود). زمان دیگری را در پایین "
        "انتخاب کنید.",
    },
    "invite_title": {
        "en": "Before your visit to {org}",
        "ru": "Перед визитом в {org}",
        "fa": "پیش از مراجعه به {org}",
    },
    "invite_intro": {
        "en": "Fill in your details so the clinic can prepare your card. It takes a minute.",
        "ru": "Заполните данные, чтобы клиника подготовила вашу карту. Это займёт минуту.",
        "fa": "اطلاعات خود را وارد کنید تا درمانگاه پرونده شما را آماده کند. یک دقیقه طول می‌کشد.",
    },
    "invite_name": {"en": "Full name", "ru": "ФИО", "fa": "نام و نام خانوادگی"},
    "invite_birth_date": {"en": "Birth date", "ru": "Дата рождения", "fa": "تاریخ تولد"},
    "invite_consent": {
        "en": "I consent to {org} processing my personal data (name, birth date, contact "
        "and health data) to provide medical care and to exchange documents with me, "
        "until I withdraw this consent in writing.",
        "ru": "Я даю согласие {org} на обработку моих персональных данных (ФИО, дата "
        "рождения, контакты и сведения о здоровье) для оказания медицинской помощи и обмена "
        "документами со мной до отзыва согласия в письменной форме.",
        "fa": "با پردازش داده‌های شخصی‌ام (نام، تاریخ تولد، اطلاعات تماس و داده‌های سلامت) "
        "توسط {org} برای ارائه خدمات پزشکی و تبادل اسناد با من موافقم، تا زمانی که این "
        "رضایت را کتباً پس بگیرم.",
    },
    "send": {"en": "Send", "ru": "Отправить", "fa": "ارسال"},
    "invite_done": {
        "en": "Thank you. {org} has your card; see you at the visit.",
        "ru": "Спасибо. Ваша карта передана в {org}; ждём вас на приёме.",
        "fa": "سپاس. پرونده شما به {org} رسید؛ در زمان مراجعه منتظر شما هستیم.",
    },
    "edo_title": {
        "en": "Agreement on electronic document exchange",
        "ru": "Соглашение об электронном документообороте",
        "fa": "توافق‌نامه تبادل الکترونیکی اسناد",
    },
    "edo_parties": {
        "en": "Between {org} (the clinic) and {name} (the patient).",
        "ru": "Между {org} (клиника) и {name} (пациент).",
        "fa": "میان {org} (درمانگاه) و {name} (بیمار).",
    },
    "edo_body": {
        "en": "The patient agrees that documents exchanged with {org} may be signed with a "
        "simple electronic signature: a one-time code sent to the contact above, or a "
        "login to the patient cabinet. Such a signature is equivalent to a handwritten one "
        "(63-FZ art. 6 part 2). The patient keeps the code secret and tells the clinic "
        "when the contact changes.",
        "ru": "Пациент согласен, что документы, которыми он обменивается с {org}, "
        "подписываются простой электронной подписью: одноразовым кодом, отправленным на "
        "указанный выше контакт, или входом в личный кабинет. Такая подпись "
        "равнозначна собственноручной (63-ФЗ ст. 6 ч. 2). Пациент хранит код в тайне и "
        "сообщает клинике о смене контакта.",
        "fa": "بیمار موافقت می‌کند که اسناد مبادله‌شده با {org} با امضای الکترونیکی ساده "
        "امضا شوند: کد یک‌بارمصرف ارسال‌شده به تماس بالا یا ورود به پرونده شخصی. "
        "چنین امضایی هم‌ارز امضای دستی است. بیمار کد را محرمانه نگه می‌دارد و تغییر "
        "اطلاعات تماس را به درمانگاه اطلاع می‌دهد.",
    },
    "edo_sign_here": {
        "en": "Patient's signature: ____________________    Date: ____________",
        "ru": "Подпись пациента: ____________________    Дата: ____________",
        "fa": "امضای بیمار: ____________________    تاریخ: ____________",
    },
    "records": {"en": "Records", "ru": "Медкарта", "fa": "مدارک پزشکی"},
    "records_what": {
        "en": "Which records",
        "ru": "Какие документы",
        "fa": "کدام مدارک",
    },
    "records_what_hint": {
        "en": "For example: test results, discharge summary, the whole card.",
        "ru": "Например: результаты анализов, выписка, вся медкарта.",
        "fa": "مثلاً: نتایج آزمایش، خلاصه ترخیص، کل پرونده.",
    },
    "records_from": {"en": "From", "ru": "С", "fa": "از"},
    "records_to": {"en": "To", "ru": "По", "fa": "تا"},
    "records_delivery": {"en": "Delivery", "ru": "Как получить", "fa": "نحوه دریافت"},
    "delivery_cabinet": {
        "en": "In this cabinet",
        "ru": "В личном кабинете",
        "fa": "در همین پرونده شخصی",
    },
    "delivery_email": {"en": "By email", "ru": "По электронной почте", "fa": "با ایمیل"},
    "delivery_paper": {
        "en": "On paper at the clinic",
        "ru": "На бумаге в клинике",
        "fa": "کاغذی در درمانگاه",
    },
    "records_request": {"en": "Request copies", "ru": "Запросить копии", "fa": "درخواست نسخه"},
    "records_requested": {
        "en": "Your request is sent. The clinic must answer by {due}.",
        "ru": "Запрос отправлен. Клиника должна ответить до {due}.",
        "fa": "درخواست شما ارسال شد. درمانگاه باید تا {due} پاسخ دهد.",
    },
    "records_yours": {"en": "Your requests", "ru": "Ваши запросы", "fa": "درخواست‌های شما"},
    "records_none": {
        "en": "You have not asked for records yet.",
        "ru": "Вы ещё не запрашивали документы.",
        "fa": "هنوز مدرکی درخواست نکرده‌اید.",
    },
    "records_issued": {"en": "Issued", "ru": "Выданы", "fa": "صادر شد"},
    "records_due": {
        "en": "Due by {due}",
        "ru": "Срок до {due}",
        "fa": "مهلت تا {due}",
    },
    "records_download": {
        "en": "Download the sealed copy",
        "ru": "Скачать заверенную копию",
        "fa": "دریافت نسخه مهرشده",
    },
    "no_such_request": {
        "en": "There is no such request in your cabinet.",
        "ru": "Такого запроса в вашем кабинете нет.",
        "fa": "چنین درخواستی در پرونده شما نیست.",
    },
}
