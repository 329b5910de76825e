"""Texts of the patient cabinet (pages and messages) in en, ru and fa; merged into
:data:`medsign.i18n.TEXTS`."""

from __future__ import annotations

CABINET_TEXTS: dict[str, dict[str, str]] = {
    "method_cabinet": {
        "en": "Patient cabinet",
        "ru": "Личный кабинет пациента",
        "fa": "پرونده شخصی بیمار",
    },
    "cabinet_code_subject": {
        "en": "Your code to log in",
        "ru": "Код для входа",
        "fa": "کد ورود شما",
    },
    "cabinet_code_body": {
        "en": "Your code to log in to the patient cabinet: {code}. It is valid for 10 "
        "minutes. Do not tell it to anyone.",
        "ru": "Код для входа в личный кабинет пациента: {code}. Действует 10 минут. "
        "Никому его не сообщайте.",
        "fa": "کد ورود شما به پرونده شخصی بیمار: {code}. این کد ۱۰ دقیقه اعتبار دارد. "
        "آن را به کسی نگویید.",
    },
    "attach_code_subject": {
        "en": "{org}: your code for the patient cabinet",
        "ru": "{org}: код для личного кабинета",
        "fa": "{org}: کد شما برای پرونده شخصی بیمار",
    },
    "attach_code_body": {
        "en": "{org} invites you to the patient cabinet. Your attach code: {code}. "
        "Log in at {url} and type it in the field “Attach code”.",
        "ru": "{org} приглашает вас в личный кабинет пациента. Код привязки: {code}. "
        "Войдите на {url} и введите его в поле «Код привязки».",
        "fa": "{org} شما را به پرونده شخصی بیمار دعوت می‌کند. کد اتصال شما: {code}. "
        "در {url} وارد شوید و آن را در فیلد «کد اتصال» بنویسید.",
    },
    "cabinet_sign_there": {
        "en": "This document is signed in your patient cabinet. Open {url} and log in.",
        "ru": "Этот документ подписывается в личном кабинете пациента. Откройте {url} и войдите.",
        "fa": "این سند در پرونده شخصی بیمار امضا می‌شود. {url} را باز کنید و وارد شوید.",
    },
    "cabinet": {"en": "Patient cabinet", "ru": "Личный кабинет", "fa": "پرونده شخصی بیمار"},
    "cabinet_intro": {
        "en": "Log in with a code we send to your phone or email. No password needed.",
        "ru": "Войдите по коду, который мы пришлём на телефон или почту. Пароль не нужен.",
        "fa": "با کدی که به تلفن یا ایمیل شما می‌فرستیم وارد شوید. رمز عبور لازم نیست.",
    },
    "contact": {"en": "Phone or email", "ru": "Телефон или эл. почта", "fa": "تلفن یا ایمیل"},
    "contact_hint": {
        "en": "A phone in international format, e.g. +79991234567, or an email address.",
        "ru": "Телефон в международном формате, например +79991234567, или адрес почты.",
        "fa": "تلفن در قالب بین‌المللی، مثلاً +989121234567، یا نشانی ایمیل.",
    },
    "log_in": {"en": "Log in", "ru": "Войти", "fa": "ورود"},
    "cabinet_code_sent": {
        "en": "We sent a code to {contact}. Type it below.",
        "ru": "Мы отправили код на {contact}. Введите его ниже.",
        "fa": "کد را به {contact} فرستادیم. آن را در زیر بنویسید.",
    },
    "logged_in_as": {
        "en": "Logged in as {contact}",
        "ru": "Вы вошли как {contact}",
        "fa": "وارد شده با {contact}",
    },
    "your_clinics": {"en": "Your clinics", "ru": "Ваши клиники", "fa": "درمانگاه‌های شما"},
    "no_clinics": {
        "en": "You are not attached to any clinic yet. Ask your clinic for an attach code.",
        "ru": "Вы ещё не привязаны ни к одной клинике. Попросите в клинике код привязки.",
        "fa": "هنوز به هیچ درمانگاهی متصل نیستید. از درمانگاه خود کد اتصال بخواهید.",
    },
    "attach_code": {"en": "Attach code", "ru": "Код привязки", "fa": "کد اتصال"},
    "attach_hint": {
        "en": "The 9 digits your clinic sent you or printed for you.",
        "ru": "9 цифр, которые клиника прислала или распечатала вам.",
        "fa": "۹ رقمی که درمانگاه برای شما فرستاده یا چاپ کرده است.",
    },
    "attach": {"en": "Attach", "ru": "Привязать", "fa": "اتصال"},
    "attached_to": {
        "en": "You are attached to {org}.",
        "ru": "Вы привязаны к клинике {org}.",
        "fa": "به {org} متصل شدید.",
    },
    "detach": {"en": "Detach", "ru": "Отвязать", "fa": "قطع اتصال"},
    "detached_from": {
        "en": "You are no longer attached to {org}.",
        "ru": "Вы больше не привязаны к клинике {org}.",
        "fa": "دیگر به {org} متصل نیستید.",
    },
    "from_clinics": {
        "en": "From your clinics",
        "ru": "От ваших клиник",
        "fa": "از درمانگاه‌های شما",
    },
    "no_documents": {
        "en": "No documents yet.",
        "ru": "Документов пока нет.",
        "fa": "هنوز سندی وجود ندارد.",
    },
    "state_can_sign": {
        "en": "Awaiting your signature",
        "ru": "Ожидает вашей подписи",
        "fa": "در انتظار امضای شما",
    },
    "state_signed": {"en": "Signed", "ru": "Подписан", "fa": "امضا شده"},
    "state_declined": {"en": "Declined", "ru": "Отклонён", "fa": "رد شده"},
    "state_waiting": {
        "en": "Others sign first",
        "ru": "Сначала подписывают другие",
        "fa": "ابتدا دیگران امضا می‌کنند",
    },
    "state_closed": {
        "en": "Withdrawn or expired",
        "ru": "Отозван или истёк",
        "fa": "لغو یا منقضی شده",
    },
    "state_view": {"en": "Completed", "ru": "Завершён", "fa": "تکمیل شده"},
    "evidence": {
        "en": "Evidence of signing (JSON)",
        "ru": "Доказательства подписания (JSON)",
        "fa": "شواهد امضا (JSON)",
    },
    "preparing_signed": {
        "en": "The signed copy is being prepared; reload in a moment.",
        "ru": "Подписанная копия готовится; обновите страницу через минуту.",
        "fa": "نسخه امضاشده در حال آماده شدن است؛ کمی بعد صفحه را دوباره بارگذاری کنید.",
    },
    "agreement_heading": {
        "en": "{org}: user agreement",
        "ru": "{org}: пользовательское соглашение",
        "fa": "{org}: توافق‌نامه کاربری",
    },
    "agreement_text": {
        "en": "Before you use the cabinet with {org}, read its user agreement and accept it. "
        "Your acceptance is signed with a simple electronic signature and sent to the clinic.",
        "ru": "Прежде чем пользоваться кабинетом клиники {org}, прочитайте её "
        "пользовательское соглашение и примите его. Согласие подписывается простой "
        "электронной подписью и передаётся в клинику.",
        "fa": "پیش از استفاده از پرونده شخصی با {org}، توافق‌نامه کاربری آن را بخوانید و "
        "بپذیرید. پذیرش شما با امضای الکترونیکی ساده امضا و برای درمانگاه فرستاده می‌شود.",
    },
    "read_agreement": {
        "en": "Read the agreement (PDF)",
        "ru": "Прочитать соглашение (PDF)",
        "fa": "خواندن توافق‌نامه (PDF)",
    },
    "consent_accept": {
        "en": "By pressing “Accept” I sign this agreement with a simple electronic signature.",
        "ru": "Нажимая «Принять», я подписываю соглашение простой электронной подписью.",
        "fa": "با فشردن «پذیرش»، این توافق‌نامه را با امضای الکترونیکی ساده امضا می‌کنم.",
    },
    "accept": {"en": "Accept", "ru": "Принять", "fa": "پذیرش"},
    "accepted": {
        "en": "Thank you: the agreement with {org} is accepted.",
        "ru": "Спасибо: соглашение с клиникой {org} принято.",
        "fa": "سپاس: توافق‌نامه با {org} پذیرفته شد.",
    },
    "documents": {"en": "Documents", "ru": "Документы", "fa": "اسناد"},
    "documents_intro": {
        "en": "Share a file with one of your clinics (PDF, DOCX, JPEG or PNG).",
        "ru": "Передайте файл одной из ваших клиник (PDF, DOCX, JPEG или PNG).",
        "fa": "فایلی را با یکی از درمانگاه‌های خود به اشتراک بگذارید (PDF، DOCX، JPEG یا PNG).",
    },
    "clinic": {"en": "Clinic", "ru": "Клиника", "fa": "درمانگاه"},
    "file_title": {"en": "Title", "ru": "Название", "fa": "عنوان"},
    "file": {"en": "File", "ru": "Файл", "fa": "فایل"},
    "share": {"en": "Share", "ru": "Передать", "fa": "اشتراک‌گذاری"},
    "shared_with": {
        "en": "Sent to {org}.",
        "ru": "Отправлено в клинику {org}.",
        "fa": "برای {org} فرستاده شد.",
    },
    "shared_files": {"en": "Files you shared", "ru": "Переданные файлы", "fa": "فایل‌های ارسالی"},
    "no_shared": {
        "en": "You have not shared any files.",
        "ru": "Вы ещё не передавали файлов.",
        "fa": "هنوز فایلی به اشتراک نگذاشته‌اید.",
    },
    "attach_first": {
        "en": "Attach to a clinic first to share files with it.",
        "ru": "Сначала привяжитесь к клинике, чтобы передавать ей файлы.",
        "fa": "ابتدا به درمانگاهی متصل شوید تا بتوانید فایل بفرستید.",
    },
    "devices": {"en": "Devices", "ru": "Устройства", "fa": "دستگاه‌ها"},
    "devices_intro": {
        "en": "You are logged in on these devices.",
        "ru": "Вы вошли на этих устройствах.",
        "fa": "روی این دستگاه‌ها وارد شده‌اید.",
    },
    "this_device": {"en": "This device", "ru": "Это устройство", "fa": "این دستگاه"},
    "device_since": {
        "en": "Logged in {when}, last seen {seen}",
        "ru": "Вход {when}, последний визит {seen}",
        "fa": "ورود {when}، آخرین بازدید {seen}",
    },
    "log_out": {"en": "Log out", "ru": "Выйти", "fa": "خروج"},
    "log_out_everywhere": {
        "en": "Log out everywhere",
        "ru": "Выйти на всех устройствах",
        "fa": "خروج از همه دستگاه‌ها",
    },
    "logged_out": {
        "en": "You are logged out.",
        "ru": "Вы вышли из кабинета.",
        "fa": "از پرونده شخصی خارج شدید.",
    },
    "form_stale": {
        "en": "The form is out of date. Reload the page and try again.",
        "ru": "Форма устарела. Обновите страницу и попробуйте снова.",
        "fa": "فرم منقضی شده است. صفحه را دوباره بارگذاری کنید و دوباره امتحان کنید.",
    },
    "cabinet_home": {"en": "Cabinet", "ru": "Кабинет", "fa": "پرونده"},
}
