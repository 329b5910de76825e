"""Texts of the console's settings pages in en, ru and fa (merged into
:data:`medsign.i18n.TEXTS`); each entry is ``key: (en, ru, fa)``."""

from __future__ import annotations

_ROWS: dict[str, tuple[str, str, str]] = {
    "settings_overview": ("Overview", "Обзор", "نمای کلی"),
    "settings_idp": ("Identity providers", "Провайдеры идентификации", "ارائه‌دهندگان هویت"),
    "settings_webhooks": ("Webhooks", "Вебхуки", "وب‌هوک‌ها"),
    "settings_tokens": ("API tokens", "API-токены", "توکن‌های API"),
    "settings_branches": ("Branches", "Филиалы", "شعبه‌ها"),
    "settings_policy": ("Signature policy", "Политика подписей", "سیاست امضا"),
    "settings_seal": ("Seal certificate", "Сертификат печати", "گواهی مهر"),
    "settings_usage": ("Usage", "Расход", "میزان استفاده"),
    "settings_branch_scope": (
        "You manage one branch: you see its tokens, webhooks and usage; settings of the "
        "whole organization are shown read-only.",
        "Вы управляете одним филиалом: видите его токены, вебхуки и расход; настройки всей "
        "организации доступны только для чтения.",
        "شما یک شعبه را مدیریت می‌کنید: توکن‌ها، وب‌هوک‌ها و میزان استفادهٔ آن را می‌بینید؛ "
        "تنظیمات کل سازمان فقط خواندنی است.",
    ),
    "settings_idp_intro": (
        "Patients may sign by logging in at these providers (OpenID Connect). Register the "
        "redirect URI shown for each provider at the provider.",
        "Пациенты могут подписывать, войдя через этих провайдеров (OpenID Connect). "
        "Зарегистрируйте у провайдера указанный адрес возврата (redirect URI).",
        "بیماران می‌توانند با ورود از طریق این ارائه‌دهندگان (OpenID Connect) امضا کنند. "
        "نشانی بازگشت (redirect URI) نشان‌داده‌شده را نزد ارائه‌دهنده ثبت کنید.",
    ),
    "settings_idp_none": (
        "No identity provider yet.",
        "Провайдеров идентификации пока нет.",
        "هنوز ارائه‌دهندهٔ هویتی نیست.",
    ),
    "settings_idp_add": ("Add a provider", "Добавить провайдера", "افزودن ارائه‌دهنده"),
    "settings_idp_cabinet": (
        "Patients may log in to the patient cabinet with it",
        "Пациенты могут входить с ним в личный кабинет",
        "بیماران می‌توانند با آن وارد پرونده شخصی شوند",
    ),
    "settings_idp_cabinet_on": (
        "Offered for cabinet login",
        "Доступен для входа в кабинет",
        "برای ورود به پرونده شخصی ارائه می‌شود",
    ),
    "settings_idp_cabinet_save": (
        "Save cabinet login",
        "Сохранить вход в кабинет",
        "ذخیرهٔ ورود به پرونده",
    ),
    "settings_disabled": ("disabled", "отключён", "غیرفعال"),
    "settings_disable": ("Disable", "Отключить", "غیرفعال کردن"),
    "settings_issuer": ("Issuer URL", "Адрес издателя (issuer)", "نشانی صادرکننده (issuer)"),
    "settings_client_id": ("Client ID", "Идентификатор клиента", "شناسهٔ کلاینت"),
    "settings_client_secret": ("Client secret", "Секрет клиента", "رمز کلاینت"),
    "settings_redirect_uri": ("Redirect URI", "Адрес возврата", "نشانی بازگشت"),
    "settings_scopes": (
        "Scopes (separated by spaces)",
        "Области доступа (через пробел)",
        "دامنه‌ها (با فاصله جدا شوند)",
    ),
    "settings_claim_name": (
        "Claim with the name (optional)",
        "Поле с именем (необязательно)",
        "ادعای نام (اختیاری)",
    ),
    "settings_claim_birth_date": (
        "Claim with the birth date (optional)",
        "Поле с датой рождения (необязательно)",
        "ادعای تاریخ تولد (اختیاری)",
    ),
    "settings_claim_national_id": (
        "Claim with a national id, e.g. snils (optional)",
        "Поле с номером документа, например snils (необязательно)",
        "ادعای شناسهٔ ملی، مثلاً snils (اختیاری)",
    ),
    "settings_name": ("Name", "Название", "نام"),
    "settings_add": ("Add", "Добавить", "افزودن"),
    "settings_create": ("Create", "Создать", "ایجاد"),
    "settings_webhook_secret_once": (
        "The webhook's signing secret is shown only now. Copy it into your system.",
        "Секрет подписи вебхука показан только сейчас. Скопируйте его в свою систему.",
        "رمز امضای وب‌هوک فقط اکنون نشان داده می‌شود. آن را در سامانهٔ خود کپی کنید.",
    ),
    "settings_events": ("Events", "События", "رویدادها"),
    "settings_all_events": ("All events (*)", "Все события (*)", "همهٔ رویدادها (*)"),
    "settings_description": (
        "Description (optional)",
        "Описание (необязательно)",
        "توضیح (اختیاری)",
    ),
    "settings_hook_active": ("Active", "Активен", "فعال"),
    "settings_hook_disabled": ("Disabled", "Отключён", "غیرفعال"),
    "settings_delivery_log": ("Delivery log", "Журнал доставок", "گزارش تحویل‌ها"),
    "settings_webhooks_none": ("No webhook yet.", "Вебхуков пока нет.", "هنوز وب‌هوکی نیست."),
    "settings_webhook_add": ("Add a webhook", "Добавить вебхук", "افزودن وب‌هوک"),
    "settings_when": ("Created", "Создана", "ایجاد"),
    "settings_event": ("Event", "Событие", "رویداد"),
    "settings_attempts": ("Attempts", "Попытки", "تلاش‌ها"),
    "settings_last_error": ("Last error", "Последняя ошибка", "آخرین خطا"),
    "settings_replay_of": ("again:", "повтор:", "تکرار:"),
    "settings_delivery_pending": ("Pending", "В очереди", "در انتظار"),
    "settings_delivery_succeeded": ("Delivered", "Доставлена", "تحویل شد"),
    "settings_delivery_dead": ("Failed", "Не доставлена", "ناموفق"),
    "settings_replay": ("Send again", "Отправить снова", "ارسال دوباره"),
    "settings_replayed": (
        "Queued again as delivery",
        "Снова поставлена в очередь как доставка",
        "دوباره در صف قرار گرفت به‌عنوان تحویل",
    ),
    "settings_older": ("Older deliveries", "Более ранние доставки", "تحویل‌های قدیمی‌تر"),
    "settings_no_deliveries": ("No delivery yet.", "Доставок пока нет.", "هنوز تحویلی نیست."),
    "settings_tokens_intro": (
        "Your systems call the API with these tokens. A branch token sees only its branch. "
        "To rotate: create a new token, switch your system to it, revoke the old one.",
        "Ваши системы обращаются к API с этими токенами. Токен филиала видит только свой "
        "филиал. Замена: создайте новый токен, переключите систему, отзовите старый.",
        "سامانه‌های شما با این توکن‌ها API را فرا می‌خوانند. توکن شعبه فقط شعبهٔ خود را می‌بیند. "
        "برای جایگزینی: توکن تازه بسازید، سامانه را به آن ببرید، توکن قدیمی را لغو کنید.",
    ),
    "settings_token_once": (
        "The token is shown only now. Copy it into your system.",
        "Токен показан только сейчас. Скопируйте его в свою систему.",
        "توکن فقط اکنون نشان داده می‌شود. آن را در سامانهٔ خود کپی کنید.",
    ),
    "settings_scope": ("Scope", "Область", "دامنه"),
    "settings_last_used": ("Last used", "Последнее использование", "آخرین استفاده"),
    "settings_revoke": ("Revoke", "Отозвать", "لغو"),
    "settings_token_add": ("Create a token", "Создать токен", "ایجاد توکن"),
    "settings_branch_name": ("Branch name", "Название филиала", "نام شعبه"),
    "settings_rename": ("Rename", "Переименовать", "تغییر نام"),
    "settings_branch_add": ("Add a branch", "Добавить филиал", "افزودن شعبه"),
    "settings_policy_intro": (
        "The law sets which methods may sign each kind of document; your organization may "
        "only narrow them. Untick a method to stop offering it for that kind.",
        "Закон определяет, какими способами можно подписать каждый вид документа; "
        "организация может их только сузить. Снимите отметку, чтобы не предлагать способ.",
        "قانون تعیین می‌کند هر نوع سند با چه روش‌هایی امضا شود؛ سازمان شما فقط می‌تواند آن‌ها را "
        "محدودتر کند. تیک یک روش را بردارید تا برای آن نوع ارائه نشود.",
    ),
    "settings_tightened": ("narrowed", "сужено", "محدودشده"),
    "policy_law_user_agreement": (
        "A user agreement may be signed with a one-time code (SMS, email, cabinet) or "
        "through an identity provider.",
        "Пользовательское соглашение можно подписать одноразовым кодом (SMS, почта, "
        "кабинет) или через провайдера идентификации.",
        "توافق‌نامهٔ کاربری را می‌توان با کد یک‌بارمصرف (پیامک، ایمیل، کابینت) یا از طریق "
        "ارائه‌دهندهٔ هویت امضا کرد.",
    ),
    "policy_law_edo_agreement": (
        "The agreement to use simple e-signatures is signed through an identity provider "
        "(ESIA) or on paper (63-FZ art. 6 part 2, art. 9).",
        "Соглашение об использовании простой электронной подписи подписывается через ЕСИА "
        "или на бумаге (63-ФЗ ст. 6 ч. 2, ст. 9).",
        "توافق استفاده از امضای الکترونیکی ساده از طریق ارائه‌دهندهٔ هویت (ESIA) یا روی کاغذ "
        "امضا می‌شود (قانون 63-FZ مادهٔ ۶ بند ۲، مادهٔ ۹).",
    ),
    "policy_law_ids": (
        "Informed consent only through ESIA or with a qualified signature (order 1051n "
        "of 12 Nov 2021).",
        "Информированное добровольное согласие — только через ЕСИА или квалифицированной "
        "подписью (приказ 1051н от 12.11.2021).",
        "رضایت آگاهانه فقط از طریق ESIA یا با امضای واجد شرایط (دستور 1051n مورخ ۱۲ نوامبر ۲۰۲۱).",
    ),
    "policy_law_contract": (
        "A one-time code binds only a patient who signed an EDO agreement with the "
        "organization; otherwise an identity provider (63-FZ art. 6 part 2, art. 9).",
        "Одноразовый код действует только для пациента, подписавшего соглашение об ЭДО; "
        "иначе — провайдер идентификации (63-ФЗ ст. 6 ч. 2, ст. 9).",
        "کد یک‌بارمصرف فقط برای بیماری معتبر است که توافق‌نامهٔ EDO را امضا کرده باشد؛ در غیر این "
        "صورت ارائه‌دهندهٔ هویت (قانون 63-FZ مادهٔ ۶ بند ۲، مادهٔ ۹).",
    ),
    "policy_law_prescription": (
        "Prescriptions are signed by the clinician's enrolled device key.",
        "Рецепты подписывает врач ключом своего зарегистрированного устройства.",
        "نسخه‌ها با کلید دستگاه ثبت‌شدهٔ پزشک امضا می‌شوند.",
    ),
    "policy_law_medical_record": (
        "Records issued to the patient carry the clinic's seal, optionally a qualified signature.",
        "Выдаваемые пациенту медицинские документы заверяются печатью клиники, при "
        "необходимости — квалифицированной подписью.",
        "مدارکی که به بیمار داده می‌شود مهر درمانگاه را دارند و در صورت نیاز امضای واجد شرایط.",
    ),
    "settings_seal_source_uploaded": (
        "Your organization's uploaded certificate seals the documents.",
        "Документы заверяются загруженным сертификатом вашей организации.",
        "اسناد با گواهی بارگذاری‌شدهٔ سازمان شما مهر می‌شوند.",
    ),
    "settings_seal_source_configured": (
        "The certificate configured by the operator of this service seals the documents.",
        "Документы заверяются сертификатом, настроенным оператором сервиса.",
        "اسناد با گواهی پیکربندی‌شده توسط گردانندهٔ این سرویس مهر می‌شوند.",
    ),
    "settings_seal_source_development": (
        "A development certificate seals the documents: upload your organization's own.",
        "Документы заверяются тестовым сертификатом: загрузите сертификат организации.",
        "اسناد با گواهی آزمایشی مهر می‌شوند: گواهی سازمان خود را بارگذاری کنید.",
    ),
    "settings_subject": ("Subject", "Владелец", "دارنده"),
    "settings_issuer_cert": ("Issued by", "Издатель", "صادرکننده"),
    "settings_valid": ("Valid", "Действует", "اعتبار"),
    "settings_seal_upload": (
        "Upload a seal certificate",
        "Загрузить сертификат печати",
        "بارگذاری گواهی مهر",
    ),
    "settings_seal_rules": (
        "The private key must belong to the certificate, the certificate must allow "
        "digitalSignature and nonRepudiation and be valid today. It seals from the next "
        "signature on.",
        "Закрытый ключ должен соответствовать сертификату; сертификат должен разрешать "
        "digitalSignature и nonRepudiation и действовать сегодня. Он применяется со "
        "следующей подписи.",
        "کلید خصوصی باید متعلق به گواهی باشد، گواهی باید digitalSignature و nonRepudiation "
        "را مجاز کند و امروز معتبر باشد. از امضای بعدی به کار می‌رود.",
    ),
    "settings_seal_pkcs12": (
        "A PKCS#12 file (.p12, .pfx)",
        "Файл PKCS#12 (.p12, .pfx)",
        "پروندهٔ PKCS#12 (‎.p12، ‎.pfx)",
    ),
    "settings_seal_p12_file": ("PKCS#12 file", "Файл PKCS#12", "پروندهٔ PKCS#12"),
    "settings_seal_pem": (
        "Or a PEM key and certificate",
        "Или ключ и сертификат в PEM",
        "یا کلید و گواهی PEM",
    ),
    "settings_seal_key_file": (
        "Private key (PEM, unencrypted)",
        "Закрытый ключ (PEM, без пароля)",
        "کلید خصوصی (PEM، بدون رمز)",
    ),
    "settings_seal_cert_file": (
        "Certificate and its chain (PEM)",
        "Сертификат и цепочка (PEM)",
        "گواهی و زنجیرهٔ آن (PEM)",
    ),
    "settings_upload": ("Upload", "Загрузить", "بارگذاری"),
    "settings_month": ("Month", "Месяц", "ماه"),
    "settings_show": ("Show", "Показать", "نمایش"),
    "settings_csv": ("Download CSV", "Скачать CSV", "دریافت CSV"),
    "settings_signatures": ("Signatures", "Подписи", "امضاها"),
    "usage_sms_messages": ("SMS messages", "SMS-сообщения", "پیامک‌ها"),
    "usage_sms_segments": ("SMS segments", "Части SMS", "بخش‌های پیامک"),
    "usage_emails": ("Emails", "Письма", "ایمیل‌ها"),
    "settings_usage_note": (
        "Counted when it happens: a signature when it is applied to the PDF, a message when "
        "the gateway or mail server takes it.",
        "Учитывается в момент события: подпись — когда она добавлена в PDF, сообщение — "
        "когда его принял шлюз или почтовый сервер.",
        "هنگام رخداد شمرده می‌شود: امضا وقتی به PDF افزوده شود، پیام وقتی درگاه یا سرور ایمیل "
        "آن را بپذیرد.",
    ),
    "settings_usage_none": (
        "Nothing used in this month.",
        "В этом месяце расхода нет.",
        "در این ماه استفاده‌ای نبوده است.",
    ),
    "settings_limits": ("Plan limits", "Лимиты тарифа", "سقف‌های طرح"),
    "settings_limit_signatures": (
        "Signatures this month",
        "Подписи в этом месяце",
        "امضاهای این ماه",
    ),
    "settings_limit_sms": ("SMS this month", "SMS в этом месяце", "پیامک‌های این ماه"),
    "settings_no_limits": (
        "No limit: the operator has set none.",
        "Без ограничений: оператор их не задал.",
        "بدون سقف: گرداننده سقفی تعیین نکرده است.",
    ),
    "settings_notifications": ("Notifications", "Уведомления", "اعلان‌ها"),
    "settings_org_notify": (
        "Time zone, quiet hours and language",
        "Часовой пояс, тихие часы и язык",
        "منطقهٔ زمانی، ساعات سکوت و زبان",
    ),
    "settings_time_zone": (
        "Time zone (IANA, e.g. Europe/Moscow)",
        "Часовой пояс (IANA, например Europe/Moscow)",
        "منطقهٔ زمانی (IANA، مثلاً Asia/Tehran)",
    ),
    "settings_quiet_start": (
        "Quiet hours from (empty: none)",
        "Тихие часы с (пусто — нет)",
        "ساعات سکوت از (خالی: ندارد)",
    ),
    "settings_quiet_end": ("Quiet hours until", "Тихие часы до", "ساعات سکوت تا"),
    "settings_rules": ("Rules", "Правила", "قواعد"),
    "settings_rules_none": ("No rule yet.", "Правил пока нет.", "هنوز قاعده‌ای نیست."),
    "settings_rule_add": ("Add a rule", "Добавить правило", "افزودن قاعده"),
    "settings_offset": ("Minutes", "Минуты", "دقیقه"),
    "settings_offset_help": (
        "Before the appointment (reminders) or after the event; for birthdays the time of "
        "day in minutes after midnight (600 = 10:00).",
        "До приёма (напоминания) или после события; для дней рождения — время дня в минутах "
        "после полуночи (600 = 10:00).",
        "پیش از نوبت (یادآوری) یا پس از رویداد؛ برای تولد، ساعت روز به دقیقه پس از نیمه‌شب "
        "(۶۰۰ = ۱۰:۰۰).",
    ),
    "settings_channels": ("Channels, in order", "Каналы по порядку", "کانال‌ها به ترتیب"),
    "settings_channel_1": ("First channel", "Первый канал", "کانال نخست"),
    "settings_channel_2": (
        "If it does not reach the patient",
        "Если не дошло до пациента",
        "اگر به بیمار نرسید",
    ),
    "settings_channel_3": ("Then", "Затем", "سپس"),
    "settings_services": (
        "Services (after a service; separated by commas)",
        "Услуги (после услуги; через запятую)",
        "خدمات (پس از خدمت؛ با ویرگول جدا شوند)",
    ),
    "settings_message_templates": (
        "Message templates",
        "Шаблоны сообщений",
        "قالب‌های پیام",
    ),
    "settings_message_templates_intro": (
        "Your wording of each event's message, per language; without one the built-in "
        "wording is used.",
        "Ваш текст сообщения для каждого события и языка; без него используется встроенный текст.",
        "متن شما برای پیام هر رویداد، به تفکیک زبان؛ بدون آن متن پیش‌فرض به کار می‌رود.",
    ),
    "settings_templates_none": (
        "No template yet: the built-in wording is used.",
        "Шаблонов пока нет: используется встроенный текст.",
        "هنوز قالبی نیست: متن پیش‌فرض به کار می‌رود.",
    ),
    "settings_template_add": (
        "Save a template (replaces the event's template in that language)",
        "Сохранить шаблон (заменяет шаблон события на этом языке)",
        "ذخیرهٔ قالب (قالب همان رویداد و زبان را جایگزین می‌کند)",
    ),
    "settings_subject_optional": (
        "Email subject (optional)",
        "Тема письма (необязательно)",
        "موضوع ایمیل (اختیاری)",
    ),
    "settings_text": ("Text", "Текст", "متن"),
    "settings_params": ("Parameters:", "Параметры:", "پارامترها:"),
    "notify_event_appointment_before": (
        "Before an appointment",
        "Перед приёмом",
        "پیش از نوبت",
    ),
    "notify_event_appointment_after_service": (
        "After a service",
        "После услуги",
        "پس از خدمت",
    ),
    "notify_event_appointment_status_changed": (
        "Appointment status changed",
        "Изменился статус приёма",
        "وضعیت نوبت تغییر کرد",
    ),
    "notify_event_results_ready": ("Results ready", "Результаты готовы", "نتایج آماده است"),
    "notify_event_patient_birthday": ("Birthday", "День рождения", "تولد"),
    "notify_event_document_sent": (
        "Document to sign",
        "Документ на подпись",
        "سند برای امضا",
    ),
    "notify_channel_sms": ("SMS", "SMS", "پیامک"),
    "notify_channel_email": ("Email", "Эл. почта", "ایمیل"),
    "notify_channel_push": ("Push notification", "Push-уведомление", "اعلان فوری"),
    "notify_channel_telegram": ("Telegram", "Telegram", "تلگرام"),
}

CONSOLE_SETTINGS_TEXTS: dict[str, dict[str, str]] = {
    key: {"en": en, "ru": ru, "fa": fa} for key, (en, ru, fa) in _ROWS.items()
}
