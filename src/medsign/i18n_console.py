"""Texts of the staff console in en, ru and fa (merged into :data:`medsign.i18n.TEXTS`).

Kept beside the patient-facing catalogue so the console's many labels do not crowd it;
each entry is ``key: (en, ru, fa)``. "Email", "Password", "Log in", "Patient name",
"Phone or email", "Send", "Sent" and "Completed" are part of the contract (shared/API.md
"Staff console").
"""

from __future__ import annotations

_ROWS: dict[str, tuple[str, str, str]] = {
    "console": ("Console", "Консоль", "کنسول"),
    "console_login_title": ("Staff login", "Вход для сотрудников", "ورود کارکنان"),
    "console_email": ("Email", "Эл. почта", "ایمیل"),
    "console_password": ("Password", "Пароль", "گذرواژه"),
    "console_log_in": ("Log in", "Войти", "ورود"),
    "console_logout": ("Log out", "Выйти", "خروج"),
    "console_wrong_password": (
        "The email or password is not right. Check them and try again.",
        "Неверная эл. почта или пароль. Проверьте их и попробуйте снова.",
        "ایمیل یا گذرواژه درست نیست. آن‌ها را بررسی کنید و دوباره امتحان کنید.",
    ),
    "console_locked": (
        "Too many wrong attempts: this account is locked for 15 minutes.",
        "Слишком много неверных попыток: вход заблокирован на 15 минут.",
        "تلاش‌های نادرست زیاد بود: این حساب ۱۵ دقیقه قفل است.",
    ),
    "console_too_many": (
        "Too many login attempts from your address. Wait a minute and try again.",
        "Слишком много попыток входа с вашего адреса. Подождите минуту.",
        "تلاش‌های ورود از نشانی شما زیاد است. یک دقیقه صبر کنید.",
    ),
    "console_form_expired": (
        "The form is out of date. Reload the page and try again.",
        "Форма устарела. Обновите страницу и попробуйте снова.",
        "فرم منقضی شده است. صفحه را دوباره بارگیری کنید و دوباره امتحان کنید.",
    ),
    "console_error": ("This did not work", "Не получилось", "انجام نشد"),
    "console_totp_title": ("Code from your app", "Код из приложения", "کد از برنامه شما"),
    "console_totp_code": (
        "6-digit code from the authenticator app",
        "6-значный код из приложения-аутентификатора",
        "کد ۶ رقمی از برنامه احراز هویت",
    ),
    "console_wrong_code": (
        "The code is not right or has expired. Type the current code.",
        "Код неверный или устарел. Введите текущий код.",
        "کد درست نیست یا منقضی شده است. کد فعلی را وارد کنید.",
    ),
    "console_invite_title": ("Set your password", "Задайте пароль", "گذرواژه خود را تعیین کنید"),
    "console_invite_for": (
        "Account: {email}",
        "Учётная запись: {email}",
        "حساب: {email}",
    ),
    "console_new_password": (
        "New password (at least 10 characters)",
        "Новый пароль (не короче 10 символов)",
        "گذرواژه جدید (دست‌کم ۱۰ نویسه)",
    ),
    "console_repeat_password": ("Repeat the password", "Повторите пароль", "تکرار گذرواژه"),
    "console_set_password": ("Set password", "Задать пароль", "تعیین گذرواژه"),
    "console_passwords_differ": (
        "The two passwords differ.",
        "Пароли не совпадают.",
        "دو گذرواژه یکسان نیستند.",
    ),
    "nav_envelopes": ("Documents", "Документы", "اسناد"),
    "nav_send": ("Send", "Отправить", "ارسال"),
    "nav_bulk": ("Bulk send", "Массовая отправка", "ارسال گروهی"),
    "nav_staff": ("Staff", "Сотрудники", "کارکنان"),
    "nav_settings": ("Settings", "Настройки", "تنظیمات"),
    "nav_account": ("My account", "Мой профиль", "حساب من"),
    "nav_branding": ("Branding", "Оформление", "نشان تجاری"),
    "conversion_queued": (
        "Queued: the files wait to be converted.",
        "В очереди: файлы ждут преобразования.",
        "در صف: پرونده‌ها منتظر تبدیل‌اند.",
    ),
    "conversion_converting": (
        "Converting the files to PDF…",
        "Преобразуем файлы в PDF…",
        "در حال تبدیل پرونده‌ها به PDF…",
    ),
    "conversion_ready": (
        "Ready: the document was sent.",
        "Готово: документ отправлен.",
        "آماده: سند فرستاده شد.",
    ),
    "conversion_failed": (
        "Failed: the document was not sent.",
        "Не удалось: документ не отправлен.",
        "ناموفق: سند فرستاده نشد.",
    ),
    "conversion_try_again": ("Send again", "Отправить снова", "دوباره بفرستید"),
    "conversion_open_envelope": ("Open the document", "Открыть документ", "باز کردن سند"),
    "nav_document_templates": ("Document templates", "Шаблоны документов", "الگوهای سند"),
    "console_doc_templates_intro": (
        "PDFs with form fields: fill one in, and it is sent like any document.",
        "PDF с полями формы: заполните его, и он отправится как любой документ.",
        "PDFهای دارای فیلد فرم: یکی را پر کنید تا مانند هر سند دیگری فرستاده شود.",
    ),
    "console_no_doc_templates": (
        "No document templates yet.",
        "Шаблонов документов пока нет.",
        "هنوز الگوی سندی نیست.",
    ),
    "console_new_doc_template": (
        "New document template",
        "Новый шаблон документа",
        "الگوی سند تازه",
    ),
    "console_doc_template_file": (
        "PDF with form fields",
        "PDF с полями формы",
        "PDF دارای فیلدهای فرم",
    ),
    "console_field_types": ("Field types", "Типы полей", "نوع فیلدها"),
    "console_field_types_hint": (
        "One per line, e.g. visit_date: date or price: number? (? = optional). "
        "Fields not listed take required text.",
        "По одному в строке, например visit_date: date или price: number? (? — необязательное). "
        "Поля, которых нет в списке, — обязательный текст.",
        "هر خط یکی، مثلاً visit_date: date یا price: number? (? = اختیاری). "
        "فیلدهای فهرست‌نشده متن الزامی‌اند.",
    ),
    "console_fields": ("Fields", "Поля", "فیلدها"),
    "console_optional": ("optional", "необязательно", "اختیاری"),
    "field_type_text": ("text", "текст", "متن"),
    "field_type_date": ("date", "дата", "تاریخ"),
    "field_type_number": ("number", "число", "عدد"),
    "console_or_doc_template": (
        "Or fill a document template:",
        "Или заполните шаблон документа:",
        "یا یک الگوی سند را پر کنید:",
    ),
    "console_branding_intro": (
        "Your logo, colours, sender name and address appear on the signing page, the "
        "cabinet, messages and signature blocks of your organization's documents.",
        "Ваш логотип, цвета, имя отправителя и адрес видны на странице подписания, в "
        "кабинете, в сообщениях и в штампах подписи документов вашей организации.",
        "نشان، رنگ‌ها، نام فرستنده و نشانی شما در صفحهٔ امضا، کابینه، پیام‌ها و مهر امضای "
        "اسناد سازمان شما دیده می‌شوند.",
    ),
    "console_branding_saved": ("Saved.", "Сохранено.", "ذخیره شد."),
    "console_logo": ("Logo", "Логотип", "نشان"),
    "console_logo_current": ("Current logo", "Текущий логотип", "نشان کنونی"),
    "console_logo_remove": ("Remove the logo", "Удалить логотип", "حذف نشان"),
    "console_logo_upload": (
        "New logo (PNG or JPEG)",
        "Новый логотип (PNG или JPEG)",
        "نشان تازه (PNG یا JPEG)",
    ),
    "console_logo_hint": (
        "Up to 512 KB and 4096 pixels a side. SVG is not accepted.",
        "До 512 КБ и 4096 пикселей по стороне. SVG не принимается.",
        "تا ۵۱۲ کیلوبایت و ۴۰۹۶ پیکسل در هر ضلع. SVG پذیرفته نمی‌شود.",
    ),
    "console_colours": ("Colours", "Цвета", "رنگ‌ها"),
    "console_primary_colour": (
        "Primary colour (buttons, links)",
        "Основной цвет (кнопки, ссылки)",
        "رنگ اصلی (دکمه‌ها، پیوندها)",
    ),
    "console_accent_colour": (
        "Accent colour (headings, header line)",
        "Акцентный цвет (заголовки, линия шапки)",
        "رنگ تأکیدی (سرتیترها، خط سربرگ)",
    ),
    "console_colour_hint": (
        "Like #0b5cad. White text must be readable on it (WCAG "
        "AA, 4.5:1); paler colours are refused.",
        "Например, #0b5cad. Белый текст на нём должен читаться (WCAG "
        "AA, 4,5:1); более светлые цвета не принимаются.",
        "مانند #0b5cad. متن سفید روی آن باید خوانا باشد (WCAG AA، "
        "۴٫۵:۱)؛ رنگ‌های روشن‌تر پذیرفته نمی‌شوند.",
    ),
    "console_messages": ("Messages", "Сообщения", "پیام‌ها"),
    "console_sender_name": ("Sender name", "Имя отправителя", "نام فرستنده"),
    "console_sender_hint": (
        "Shown as the sender of emails, and of SMS where the gateway allows it.",
        "Показывается как отправитель писем и SMS, где шлюз это позволяет.",
        "به‌عنوان فرستندهٔ ایمیل‌ها، و پیامک‌ها در جایی که درگاه اجازه دهد، نشان داده می‌شود.",
    ),
    "console_custom_domain": (
        "Custom domain for links",
        "Свой домен для ссылок",
        "دامنهٔ اختصاصی برای پیوندها",
    ),
    "console_domain_hint": (
        "Like sign.clinic.example. Point it at this service (DNS "
        "and TLS) first; until set, links use {url}.",
        "Например, sign.clinic.example. Сначала направьте его на этот "
        "сервис (DNS и TLS); без него ссылки ведут на {url}.",
        "مانند sign.clinic.example. نخست آن را به این سرویس اشاره دهید "
        "(DNS و TLS)؛ تا آن زمان پیوندها به {url} می‌روند.",
    ),
    "console_filters": ("Filters", "Фильтры", "فیلترها"),
    "console_search_patient": (
        "Patient (name starts with)",
        "Пациент (начало ФИО)",
        "بیمار (آغاز نام)",
    ),
    "console_status": ("Status", "Статус", "وضعیت"),
    "console_kind": ("Document kind", "Вид документа", "نوع سند"),
    "console_any": ("Any", "Любой", "همه"),
    "console_from": ("Changed from", "Изменён с", "تغییر از"),
    "console_to": ("Changed to", "Изменён по", "تغییر تا"),
    "console_branch": ("Branch", "Филиал", "شعبه"),
    "console_apply": ("Apply", "Применить", "اعمال"),
    "console_patient": ("Patient", "Пациент", "بیمار"),
    "console_document": ("Document", "Документ", "سند"),
    "console_updated": ("Last change", "Последнее изменение", "آخرین تغییر"),
    "console_more": ("Older documents", "Более ранние документы", "اسناد قدیمی‌تر"),
    "console_no_envelopes": (
        "No documents match. Send one from “Send”.",
        "Нет подходящих документов. Отправьте документ в разделе «Отправить».",
        "سندی یافت نشد. از «ارسال» سندی بفرستید.",
    ),
    "status_sent": ("Sent", "Отправлен", "ارسال شده"),
    "status_completed": ("Completed", "Подписан", "تکمیل شده"),
    "status_declined": ("Declined", "Отклонён", "رد شده"),
    "status_expired": ("Expired", "Истёк срок", "منقضی شده"),
    "status_voided": ("Voided", "Отозван", "باطل شده"),
    "signer_status_waiting": ("Waiting for earlier signers", "Ждёт очереди", "در انتظار نوبت"),
    "signer_status_notified": ("Invited", "Приглашён", "دعوت شده"),
    "signer_status_signed": ("Signed", "Подписал", "امضا کرده"),
    "signer_status_declined": ("Declined", "Отказался", "رد کرده"),
    "signer_status_cancelled": ("Cancelled", "Отменён", "لغو شده"),
    "role_patient": ("Patient", "Пациент", "بیمار"),
    "role_representative": ("Representative", "Представитель", "نماینده"),
    "role_clinic": ("Clinic", "Клиника", "درمانگاه"),
    "role_clinician": ("Clinician", "Врач", "پزشک"),
    "role_viewer": ("Gets a copy", "Получает копию", "دریافت رونوشت"),
    "method_cabinet": ("Patient cabinet", "Личный кабинет", "کارتابل بیمار"),
    "method_device": ("Clinician's device key", "Ключ устройства врача", "کلید دستگاه پزشک"),
    "method_external": (
        "Qualified signature (uploaded)",
        "Квалифицированная подпись (загружена)",
        "امضای واجد شرایط (بارگذاری شده)",
    ),
    "staff_role_admin": ("Admin", "Администратор", "مدیر"),
    "staff_role_operator": ("Operator", "Оператор", "اپراتور"),
    "staff_role_clinician": ("Clinician", "Врач", "پزشک"),
    "staff_role_viewer": ("Viewer", "Наблюдатель", "بیننده"),
    "kind_user_agreement": ("User agreement", "Пользовательское соглашение", "توافق‌نامه کاربر"),
    "kind_edo_agreement": (
        "Agreement on electronic signatures",
        "Соглашение об ЭДО",
        "توافق‌نامه امضای الکترونیکی",
    ),
    "kind_informed_consent": (
        "Informed consent",
        "Информированное добровольное согласие",
        "رضایت آگاهانه",
    ),
    "kind_telemedicine_consent": (
        "Telemedicine consent",
        "Согласие на телемедицину",
        "رضایت پزشکی از راه دور",
    ),
    "kind_contract": ("Contract", "Договор", "قرارداد"),
    "kind_invoice": ("Invoice", "Счёт", "صورت‌حساب"),
    "kind_specification": ("Specification", "Спецификация", "مشخصات"),
    "kind_treatment_plan": ("Treatment plan", "План лечения", "طرح درمان"),
    "kind_act": ("Act of services", "Акт оказанных услуг", "صورت‌جلسه خدمات"),
    "kind_other": ("Other", "Другое", "سایر"),
    "kind_prescription": ("Prescription", "Рецепт", "نسخه"),
    "kind_medical_record": ("Medical record", "Медицинская документация", "پرونده پزشکی"),
    "console_files": (
        "Files (PDF, Word, photos)",
        "Файлы (PDF, Word, фото)",
        "پرونده‌ها (PDF، Word، عکس)",
    ),
    "console_drop_hint": (
        "Drop files here or choose them; several files become one PDF, in order.",
        "Перетащите файлы сюда или выберите их; несколько файлов станут одним PDF.",
        "پرونده‌ها را اینجا رها کنید یا انتخاب کنید؛ چند پرونده یک PDF می‌شوند.",
    ),
    "console_title_optional": (
        "Title (optional)",
        "Название (необязательно)",
        "عنوان (اختیاری)",
    ),
    "console_patient_name": ("Patient name", "ФИО пациента", "نام بیمار"),
    "console_contact": ("Phone or email", "Телефон или эл. почта", "تلفن یا ایمیل"),
    "console_contact_hint": (
        "A phone in international format (+79991234567) gets an SMS code; an email gets an "
        "email code.",
        "На телефон в международном формате (+79991234567) придёт SMS-код, на эл. почту — "
        "код в письме.",
        "به تلفن با قالب بین‌المللی (+989121234567) کد پیامکی و به ایمیل کد ایمیلی می‌رسد.",
    ),
    "console_method": ("Signing method", "Способ подписи", "روش امضا"),
    "console_method_auto": (
        "Automatic: SMS code for a phone, email code for an email",
        "Автоматически: SMS-код для телефона, код в письме для почты",
        "خودکار: کد پیامکی برای تلفن، کد ایمیلی برای ایمیل",
    ),
    "console_seal_first": (
        "The clinic's seal signs first, then the patient",
        "Сначала печать клиники, затем пациент",
        "نخست مهر درمانگاه، سپس بیمار",
    ),
    "console_send": ("Send", "Отправить", "ارسال"),
    "console_uploading": ("Uploading", "Загрузка", "در حال بارگذاری"),
    "console_converting": (
        "Converting to PDF and sending…",
        "Преобразование в PDF и отправка…",
        "در حال تبدیل به PDF و ارسال…",
    ),
    "console_no_files": (
        "Attach the document: choose or drop at least one file.",
        "Приложите документ: выберите или перетащите хотя бы один файл.",
        "سند را پیوست کنید: دست‌کم یک پرونده انتخاب کنید.",
    ),
    "console_policy_title": (
        "Which methods each document allows",
        "Какие способы подписи допускает каждый документ",
        "هر سند چه روش‌هایی را می‌پذیرد",
    ),
    "console_policy_intro": (
        "The law decides how a patient may sign each kind of document; a request that "
        "breaks it is refused with the reason.",
        "Закон определяет, как пациент может подписать каждый вид документа; запрос с "
        "нарушением отклоняется с объяснением.",
        "قانون تعیین می‌کند بیمار هر نوع سند را چگونه امضا کند؛ درخواست ناسازگار با دلیل رد می‌شود.",
    ),
    "console_allowed": ("Allowed now", "Сейчас допустимо", "مجاز اکنون"),
    "console_why": ("Why", "Почему", "چرا"),
    "console_not_here": (
        "Not from the console",
        "Не из консоли",
        "نه از کنسول",
    ),
    "why_user_agreement": (
        "A code sent by SMS or email is enough (simple electronic signature).",
        "Достаточно кода из SMS или письма (простая электронная подпись).",
        "کد پیامکی یا ایمیلی کافی است (امضای الکترونیکی ساده).",
    ),
    "why_edo_agreement": (
        "The agreement itself needs a login at an identity provider (63-FZ art. 9).",
        "Само соглашение подписывается через вход у поставщика идентификации (63-ФЗ ст. 9).",
        "خود توافق‌نامه با ورود نزد ارائه‌دهنده هویت امضا می‌شود.",
    ),
    "why_informed_consent": (
        "Only an identity provider login or a qualified signature (order 1051n).",
        "Только через поставщика идентификации или квалифицированной подписью (приказ 1051н).",
        "فقط با ورود نزد ارائه‌دهنده هویت یا امضای واجد شرایط.",
    ),
    "why_contract_like": (
        "A code only with the patient's EDO agreement (63-FZ art. 6 part 2); else an "
        "identity provider login.",
        "Код — только при соглашении об ЭДО с пациентом (63-ФЗ ст. 6 ч. 2); иначе вход через "
        "поставщика идентификации.",
        "کد فقط با توافق‌نامه امضای الکترونیکی بیمار؛ وگرنه ورود نزد ارائه‌دهنده هویت.",
    ),
    "why_prescription": (
        "Signed by the clinician with their device key.",
        "Подписывает врач ключом своего устройства.",
        "پزشک با کلید دستگاه خود امضا می‌کند.",
    ),
    "why_medical_record": (
        "Issued under the clinic's seal.",
        "Выдаётся под печатью клиники.",
        "با مهر درمانگاه صادر می‌شود.",
    ),
    "console_created": ("Sent on", "Отправлен", "تاریخ ارسال"),
    "console_expires": ("Expires", "Действует до", "انقضا"),
    "console_downloads": ("Downloads", "Скачать", "دریافت"),
    "console_dl_pdf": (
        "The PDF with its signatures so far",
        "PDF с подписями на текущий момент",
        "PDF با امضاهای تاکنون",
    ),
    "console_dl_evidence": ("Evidence (PDF)", "Доказательства (PDF)", "شواهد (PDF)"),
    "console_dl_evidence_json": ("Evidence (JSON)", "Доказательства (JSON)", "شواهد (JSON)"),
    "console_dl_archive": ("Archive (PAdES B-LTA)", "Архив (PAdES B-LTA)", "بایگانی (PAdES B-LTA)"),
    "console_signers": ("Signers", "Подписанты", "امضاکنندگان"),
    "console_resend": (
        "Remind: send the link again",
        "Напомнить: отправить ссылку снова",
        "یادآوری: ارسال دوباره پیوند",
    ),
    "console_new_contact": (
        "New phone or email",
        "Новый телефон или эл. почта",
        "تلفن یا ایمیل جدید",
    ),
    "console_change_contact": ("Change contact", "Изменить контакт", "تغییر نشانی تماس"),
    "console_void_title": ("Void", "Отозвать", "ابطال"),
    "console_void_reason": ("Reason", "Причина", "دلیل"),
    "console_void": ("Void the document", "Отозвать документ", "باطل کردن سند"),
    "console_timeline": ("Timeline", "История", "رویدادها"),
    "console_done_sent": ("Sent.", "Отправлено.", "ارسال شد."),
    "console_done_void": ("Voided.", "Отозвано.", "باطل شد."),
    "console_done_resend": (
        "The link was sent again.",
        "Ссылка отправлена снова.",
        "پیوند دوباره ارسال شد.",
    ),
    "console_done_contact": (
        "The contact was changed; a new link was sent.",
        "Контакт изменён; отправлена новая ссылка.",
        "نشانی تماس تغییر کرد؛ پیوند تازه ارسال شد.",
    ),
    "console_done_password": ("Password changed.", "Пароль изменён.", "گذرواژه تغییر کرد."),
    "console_done_totp_start": (
        "Scan the code, then type the 6 digits.",
        "Отсканируйте код и введите 6 цифр.",
        "کد را اسکن کنید، سپس ۶ رقم را وارد کنید.",
    ),
    "console_done_totp_confirm": ("TOTP is on.", "Вход по коду включён.", "ورود با کد فعال شد."),
    "console_done_totp_off": ("TOTP is off.", "Вход по коду выключен.", "ورود با کد غیرفعال شد."),
    "console_done_revoke": ("The session was ended.", "Сеанс завершён.", "نشست پایان یافت."),
    "event_document_created": ("Document stored", "Документ сохранён", "سند ذخیره شد"),
    "event_envelope_sent": ("Sent", "Отправлен", "ارسال شد"),
    "event_envelope_completed": ("Completed", "Подписан всеми", "تکمیل شد"),
    "event_envelope_declined": ("Declined", "Отклонён", "رد شد"),
    "event_envelope_voided": ("Voided", "Отозван", "باطل شد"),
    "event_envelope_expired": ("Expired", "Истёк срок", "منقضی شد"),
    "event_signer_signed": ("Signed", "Подписано", "امضا شد"),
    "event_signer_link_resent": (
        "Link sent again",
        "Ссылка отправлена снова",
        "پیوند دوباره ارسال شد",
    ),
    "event_signer_updated": ("Contact changed", "Контакт изменён", "نشانی تماس تغییر کرد"),
    "console_bulk_intro": (
        "One document to many patients: a CSV with one patient per line (name, then phone "
        "or email). Each row gets its own envelope and result.",
        "Один документ многим пациентам: CSV, по пациенту в строке (ФИО, затем телефон или "
        "почта). Каждая строка получает свой конверт и результат.",
        "یک سند برای چند بیمار: CSV با یک بیمار در هر سطر (نام، سپس تلفن یا ایمیل).",
    ),
    "console_csv": ("Patients (CSV)", "Пациенты (CSV)", "بیماران (CSV)"),
    "console_csv_hint": (
        "UTF-8, comma or semicolon; a header row such as name,phone is optional.",
        "UTF-8, запятая или точка с запятой; строка заголовка (name,phone) необязательна.",
        "UTF-8، ویرگول یا نقطه‌ویرگول؛ سطر عنوان (name,phone) اختیاری است.",
    ),
    "console_bulk_progress": (
        "{done} of {total} handled: {sent} sent, {failed} failed",
        "Обработано {done} из {total}: отправлено {sent}, ошибок {failed}",
        "{done} از {total} انجام شد: {sent} ارسال، {failed} ناموفق",
    ),
    "console_bulk_finished": ("finished", "готово", "پایان یافت"),
    "console_result": ("Result", "Результат", "نتیجه"),
    "bulk_row_queued": ("Waiting", "В очереди", "در صف"),
    "bulk_row_sent": ("Sent", "Отправлен", "ارسال شده"),
    "bulk_row_failed": ("Not sent", "Не отправлен", "ارسال نشد"),
    "console_invite_link": (
        "The invitation was emailed; you may also give the person this link (it works "
        "once, for 7 days):",
        "Приглашение отправлено по почте; ссылку можно передать и самому (действует один "
        "раз, 7 дней):",
        "دعوت‌نامه ایمیل شد؛ می‌توانید این پیوند را هم به فرد بدهید (یک بار، تا ۷ روز):",
    ),
    "staff_invite_subject": (
        "Your account in the {org} console",
        "Ваша учётная запись в консоли {org}",
        "حساب شما در کنسول {org}",
    ),
    "staff_invite_body": (
        "You are invited to the document console of {org}. Set your password (the link "
        "works once, for 7 days): {url}",
        "Вас пригласили в консоль документов {org}. Задайте пароль (ссылка действует один "
        "раз, 7 дней): {url}",
        "شما به کنسول اسناد {org} دعوت شده‌اید. گذرواژه خود را تعیین کنید (پیوند یک بار و تا "
        "۷ روز کار می‌کند): {url}",
    ),
    "nav_templates": ("Signer templates", "Шаблоны подписантов", "الگوهای امضاکنندگان"),
    "console_templates_intro": (
        "Saved choices for the send page: the clinic's seal first, and who gets a copy. "
        "The patient is always the one you type when sending.",
        "Сохранённые настройки для отправки: сначала печать клиники и кто получает копию. "
        "Пациента вы вводите при отправке.",
        "گزینه‌های ذخیره‌شده برای ارسال: نخست مهر درمانگاه و دریافت‌کننده رونوشت. بیمار "
        "همیشه همانی است که هنگام ارسال وارد می‌کنید.",
    ),
    "console_no_templates": ("No templates yet.", "Шаблонов пока нет.", "هنوز الگویی نیست."),
    "console_new_template": ("New template", "Новый шаблон", "الگوی تازه"),
    "console_template_name": ("Template name", "Название шаблона", "نام الگو"),
    "console_copy_name": (
        "Copy to: name (optional)",
        "Копия: имя (необязательно)",
        "رونوشت برای: نام (اختیاری)",
    ),
    "console_copy_contact": (
        "Copy to: phone or email (optional)",
        "Копия: телефон или эл. почта (необязательно)",
        "رونوشت برای: تلفن یا ایمیل (اختیاری)",
    ),
    "console_copy_to": ("copy to", "копия", "رونوشت"),
    "console_save": ("Save", "Сохранить", "ذخیره"),
    "console_delete": ("Delete", "Удалить", "حذف"),
    "console_template": ("Signer template", "Шаблон подписантов", "الگوی امضاکنندگان"),
    "console_no_template": ("None: only the patient", "Нет: только пациент", "هیچ: فقط بیمار"),
    "console_role": ("Role", "Роль", "نقش"),
    "console_state": ("State", "Состояние", "وضعیت"),
    "console_actions": ("Actions", "Действия", "کارها"),
    "console_whole_org": ("Whole organization", "Вся организация", "کل سازمان"),
    "console_active": ("Active", "Активен", "فعال"),
    "console_invited": ("Invited", "Приглашён", "دعوت شده"),
    "console_deactivated": ("Deactivated", "Отключён", "غیرفعال"),
    "console_deactivate": ("Deactivate", "Отключить", "غیرفعال کردن"),
    "console_invite": ("Invite", "Пригласить", "دعوت"),
    "console_name_optional": ("Name (optional)", "Имя (необязательно)", "نام (اختیاری)"),
    "console_organization": ("Organization", "Организация", "سازمان"),
    "console_branches": ("Branches", "Филиалы", "شعبه‌ها"),
    "console_no_branches": ("No branches.", "Филиалов нет.", "شعبه‌ای نیست."),
    "console_without_edo": ("Without EDO agreement", "Без соглашения об ЭДО", "بدون توافق‌نامه"),
    "console_with_edo": ("With EDO agreement", "С соглашением об ЭДО", "با توافق‌نامه"),
    "console_totp_heading": (
        "Second factor (TOTP)",
        "Второй фактор (TOTP)",
        "عامل دوم (TOTP)",
    ),
    "console_totp_on": (
        "On: each login asks for a code from your authenticator app.",
        "Включён: при входе запрашивается код из приложения-аутентификатора.",
        "فعال: هر ورود کدی از برنامه احراز هویت می‌خواهد.",
    ),
    "console_totp_off": (
        "Off. Turn it on to protect the account with a code from a phone app.",
        "Выключен. Включите, чтобы защитить вход кодом из приложения на телефоне.",
        "غیرفعال. برای محافظت با کد برنامه تلفن، آن را فعال کنید.",
    ),
    "console_totp_start": ("Turn on", "Включить", "فعال کردن"),
    "console_totp_scan": (
        "Scan this code with an authenticator app, then type the 6 digits it shows.",
        "Отсканируйте код приложением-аутентификатором и введите 6 цифр.",
        "این کد را با برنامه احراز هویت اسکن کنید و ۶ رقم را وارد کنید.",
    ),
    "console_totp_qr_alt": (
        "QR code of the TOTP key (the same key is written below)",
        "QR-код ключа TOTP (тот же ключ указан ниже)",
        "کد QR کلید TOTP (همان کلید در زیر آمده است)",
    ),
    "console_totp_confirm": ("Confirm", "Подтвердить", "تأیید"),
    "console_totp_disable": ("Turn off", "Выключить", "غیرفعال کردن"),
    "console_change_password": ("Change password", "Сменить пароль", "تغییر گذرواژه"),
    "console_current_password": ("Current password", "Текущий пароль", "گذرواژه فعلی"),
    "console_sessions": ("Sessions", "Сеансы", "نشست‌ها"),
    "console_this_session": ("this session", "текущий сеанс", "همین نشست"),
    "console_end_session": ("End", "Завершить", "پایان"),
}

CONSOLE_TEXTS: dict[str, dict[str, str]] = {
    key: {"en": en, "ru": ru, "fa": fa} for key, (en, ru, fa) in _ROWS.items()
}
