"""Texts shown to people (pages and messages) in en, ru and fa (right-to-left)."""

from __future__ import annotations

from medsign.i18n_cabinet import CABINET_TEXTS
from medsign.i18n_console import CONSOLE_TEXTS
from medsign.i18n_console_settings import CONSOLE_SETTINGS_TEXTS
from medsign.i18n_push import PUSH_TEXTS
from medsign.i18n_visits import VISIT_TEXTS

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
    "method_seal": {
        "en": "Organization seal",
        "ru": "Электронная печать организации",
        "fa": "مهر سازمان",
    },
    "method_idp": {
        "en": "Identity provider login",
        "ru": "Вход через поставщика идентификации",
        "fa": "ورود از طریق ارائه‌دهنده هویت",
    },
    "method_external": {
        "en": "Qualified electronic signature",
        "ru": "Квалифицированная электронная подпись",
        "fa": "امضای الکترونیکی واجد شرایط",
    },
    "method_device": {
        "en": "Clinician's device key",
        "ru": "Ключ на устройстве врача",
        "fa": "کلید دستگاه پزشک",
    },
    "consent_device": {
        "en": "By approving on my enrolled device I sign this document with my own key.",
        "ru": "Подтверждая на своём устройстве, я подписываю документ своим ключом.",
        "fa": "با تأیید در دستگاه ثبت‌شده‌ام، این سند را با کلید خودم امضا می‌کنم.",
    },
    "enroll_subject": {
        "en": "Set up signing on your device for {org}",
        "ru": "Настройте подпись на своём устройстве для {org}",
        "fa": "امضا را در دستگاه خود برای {org} راه‌اندازی کنید",
    },
    "enroll_body": {
        "en": "{org} invites you to approve prescriptions on your device. Open on your "
        "phone: {url} (valid until {expires}).",
        "ru": "{org} приглашает вас подписывать рецепты на своём устройстве. Откройте на "
        "телефоне: {url} (действует до {expires}).",
        "fa": "{org} از شما دعوت می‌کند نسخه‌ها را در دستگاه خود تأیید کنید. در تلفن خود "
        "باز کنید: {url} (معتبر تا {expires}).",
    },
    "sign_with": {
        "en": "Sign with {provider}",
        "ru": "Подписать через {provider}",
        "fa": "امضا با {provider}",
    },
    "consent_idp": {
        "en": "By signing in at the identity provider I sign this document with a simple "
        "electronic signature.",
        "ru": "Входя через поставщика идентификации, я подписываю документ простой "
        "электронной подписью.",
        "fa": "با ورود از طریق ارائه‌دهنده هویت، این سند را با امضای الکترونیکی ساده امضا می‌کنم.",
    },
    "idp_mismatch": {
        "en": "This document is for another person",
        "ru": "Этот документ предназначен другому человеку",
        "fa": "این سند برای شخص دیگری است",
    },
    "idp_failed": {
        "en": "The login could not be used to sign",
        "ru": "Вход не удалось использовать для подписи",
        "fa": "از این ورود نمی‌توان برای امضا استفاده کرد",
    },
    "idp_unavailable": {
        "en": "The identity provider is not answering",
        "ru": "Поставщик идентификации не отвечает",
        "fa": "ارائه‌دهنده هویت پاسخ نمی‌دهد",
    },
    "idp_unavailable_text": {
        "en": "Nothing was signed. Try again in a few minutes from your signing link.",
        "ru": "Ничего не подписано. Попробуйте снова через несколько минут по ссылке на подпись.",
        "fa": "چیزی امضا نشد. چند دقیقه دیگر از پیوند امضای خود دوباره تلاش کنید.",
    },
    "back_to_document": {
        "en": "Back to the document",
        "ru": "Вернуться к документу",
        "fa": "بازگشت به سند",
    },
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
    "viewer_waiting": {
        "en": "You will get the signed copy by message once everyone has signed.",
        "ru": "Вы получите подписанную копию сообщением, когда все подпишут.",
        "fa": "وقتی همه امضا کردند، نسخه امضاشده را با پیام دریافت می‌کنید.",
    },
    "reminder_subject": {
        "en": "Reminder: document to sign: {title}",
        "ru": "Напоминание: документ на подпись: {title}",
        "fa": "یادآوری: سند برای امضا: {title}",
    },
    "completed_subject": {
        "en": "Signed by everyone: {title}",
        "ru": "Подписано всеми: {title}",
        "fa": "امضا توسط همه: {title}",
    },
    "completed_body": {
        "en": "“{title}” from {org} is signed by everyone. Your copy: {url}",
        "ru": "«{title}» от {org} подписан всеми сторонами. Ваша копия: {url}",
        "fa": "«{title}» از {org} توسط همه امضا شد. نسخه شما: {url}",
    },
    "declined_subject": {
        "en": "Signing stopped: {title}",
        "ru": "Подписание остановлено: {title}",
        "fa": "امضا متوقف شد: {title}",
    },
    "declined_body": {
        "en": "A participant declined to sign “{title}” from {org}. The document will not "
        "take effect; the clinic will contact you if needed.",
        "ru": "Один из участников отказался подписывать «{title}» от {org}. Документ не вступит "
        "в силу; клиника свяжется с вами при необходимости.",
        "fa": "یکی از شرکت‌کنندگان امضای «{title}» از {org} را رد کرد. این سند اجرا نمی‌شود؛ "
        "در صورت نیاز درمانگاه با شما تماس می‌گیرد.",
    },
    "revoke_hint": {
        "en": "To withdraw your agreement on electronic signatures: {url}",
        "ru": "Отозвать согласие на электронный документооборот: {url}",
        "fa": "برای لغو موافقت با امضای الکترونیکی: {url}",
    },
    "revoke_title": {
        "en": "Withdraw your agreement on electronic signatures",
        "ru": "Отзыв согласия на электронный документооборот",
        "fa": "لغو موافقت با امضای الکترونیکی",
    },
    "revoke_text": {
        "en": "After you withdraw it, {org} will ask you to sign contracts and similar "
        "documents on paper or through the government identity service.",
        "ru": "После отзыва {org} будет просить подписывать договоры и подобные документы "
        "на бумаге или через Госуслуги.",
        "fa": "پس از لغو، {org} از شما می‌خواهد قراردادها و اسناد مشابه را روی کاغذ یا از طریق "
        "سامانه هویت دولتی امضا کنید.",
    },
    "revoke_button": {"en": "Withdraw agreement", "ru": "Отозвать согласие", "fa": "لغو موافقت"},
    "revoked": {
        "en": "Your agreement is withdrawn",
        "ru": "Согласие отозвано",
        "fa": "موافقت شما لغو شد",
    },
    "revoked_text": {
        "en": "{org} has been told. Documents already signed stay valid.",
        "ru": "{org} получит уведомление. Уже подписанные документы остаются в силе.",
        "fa": "به {org} اطلاع داده شد. اسنادی که قبلاً امضا شده‌اند معتبر می‌مانند.",
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
    # Verification page (/verify).
    "verify_title": {
        "en": "Verify a signed document",
        "ru": "Проверка подписанного документа",
        "fa": "بررسی سند امضاشده",
    },
    "verify_intro": {
        "en": "Upload the signed PDF to check every signature, or type the document id and "
        "verification code printed in the signature block.",
        "ru": "Загрузите подписанный PDF, чтобы проверить все подписи, или введите "
        "идентификатор документа и код проверки из штампа подписи.",
        "fa": "PDF امضاشده را بارگذاری کنید تا همه امضاها بررسی شوند، یا شناسه سند و "
        "کد بررسی چاپ‌شده در بلوک امضا را وارد کنید.",
    },
    "verify_upload": {"en": "Check a file", "ru": "Проверить файл", "fa": "بررسی فایل"},
    "verify_file": {"en": "PDF file", "ru": "Файл PDF", "fa": "فایل PDF"},
    "verify_button": {"en": "Verify", "ru": "Проверить", "fa": "بررسی"},
    "verify_requisites": {
        "en": "Check the requisites",
        "ru": "Проверить по реквизитам",
        "fa": "بررسی با مشخصات",
    },
    "document_id": {"en": "Document id", "ru": "Идентификатор документа", "fa": "شناسه سند"},
    "verification_code": {"en": "Verification code", "ru": "Код проверки", "fa": "کد بررسی"},
    "check": {"en": "Check", "ru": "Проверить", "fa": "بررسی"},
    "result_valid": {
        "en": "Valid: every signature is intact and trusted",
        "ru": "Действителен: все подписи целы и доверенные",
        "fa": "معتبر: همه امضاها سالم و مورد اعتماد هستند",
    },
    "result_invalid": {"en": "Not valid", "ru": "Недействителен", "fa": "نامعتبر"},
    "col_signer": {"en": "Signer", "ru": "Подписант", "fa": "امضاکننده"},
    "col_signed_at": {"en": "Signed at", "ru": "Время подписи", "fa": "زمان امضا"},
    "col_method": {"en": "Method", "ru": "Способ", "fa": "روش"},
    "col_intact": {"en": "Intact", "ru": "Не изменён", "fa": "سالم"},
    "col_valid": {"en": "Valid", "ru": "Действительна", "fa": "معتبر"},
    "col_trusted": {"en": "Trusted", "ru": "Доверенная", "fa": "مورد اعتماد"},
    "col_timestamp": {"en": "Time-stamp", "ru": "Метка времени", "fa": "مهر زمانی"},
    "col_changes": {
        "en": "Changes after it",
        "ru": "Изменения после неё",
        "fa": "تغییرات پس از آن",
    },
    "changes_none": {"en": "none", "ru": "нет", "fa": "هیچ"},
    "changes_allowed": {
        "en": "only further signatures",
        "ru": "только другие подписи",
        "fa": "فقط امضاهای بعدی",
    },
    "changes_not_allowed": {
        "en": "content changed",
        "ru": "содержимое изменено",
        "fa": "محتوا تغییر کرده",
    },
    "changes_unknown": {"en": "unknown", "ru": "неизвестно", "fa": "نامشخص"},
    # Why a signature is trusted (docs/verification.md "Three kinds of trust").
    "trust_medsign_ca": {
        "en": "chains to medsign's CA",
        "ru": "цепочка до УЦ medsign",
        "fa": "زنجیره به مرکز صدور گواهی medsign",
    },
    "trust_trust_root": {
        "en": "chains to a qualified external root",
        "ru": "цепочка до внешнего квалифицированного корневого сертификата",
        "fa": "زنجیره به یک ریشهٔ بیرونی واجد شرایط",
    },
    "trust_registered_seal": {
        "en": "registered seal of {org}",
        "ru": "зарегистрированная печать организации {org}",
        "fa": "مهر ثبت‌شدهٔ {org}",
    },
    "trust_registered_since": {
        "en": "registered since {start}",
        "ru": "зарегистрирована с {start}",
        "fa": "ثبت‌شده از {start}",
    },
    "trust_registered_period": {
        "en": "registered from {start} to {end}",
        "ru": "была зарегистрирована с {start} по {end}",
        "fa": "ثبت‌شده از {start} تا {end}",
    },
    "trust_registered_explained": {
        "en": "A registered seal is a certificate an organization uploaded to medsign as "
        "its own seal. medsign checked that this exact certificate was the organization's "
        "seal when the document was sealed; it does not vouch for the authority that "
        "issued the certificate, nor for any other certificate of that authority.",
        "ru": "Зарегистрированная печать — это сертификат, который организация загрузила "
        "в medsign как свою печать. medsign проверил, что именно этот сертификат был "
        "печатью организации в момент подписания; за выдавший его удостоверяющий центр "
        "и другие его сертификаты medsign не ручается.",
        "fa": "مهر ثبت‌شده گواهی‌ای است که یک سازمان به‌عنوان مهر خود در medsign "
        "بارگذاری کرده است. medsign بررسی کرد که همین گواهی هنگام مهر شدن سند، مهر آن "
        "سازمان بوده است؛ medsign صادرکنندهٔ گواهی یا گواهی‌های دیگر آن را تضمین نمی‌کند.",
    },
    "yes": {"en": "yes", "ru": "да", "fa": "بله"},
    "no": {"en": "no", "ru": "нет", "fa": "خیر"},
    "no_signatures": {
        "en": "No signatures found.",
        "ru": "Подписи не найдены.",
        "fa": "امضایی یافت نشد.",
    },
    "issued_by_medsign": {
        "en": "This exact file was issued by this medsign service.",
        "ru": "Именно этот файл выдан этим сервисом medsign.",
        "fa": "همین فایل توسط این سرویس medsign صادر شده است.",
    },
    "not_issued_by_medsign": {
        "en": "This exact file is not one this service issued (it may still be a valid copy "
        "from another service).",
        "ru": "Этот файл не выдавался этим сервисом (он может быть подписан в другом сервисе).",
        "fa": "این فایل را این سرویس صادر نکرده است (ممکن است از سرویس دیگری باشد).",
    },
    "newer_version": {
        "en": "A newer version of this document exists, with more signatures.",
        "ru": "Существует более новая версия документа с дополнительными подписями.",
        "fa": "نسخه جدیدتری از این سند با امضاهای بیشتر وجود دارد.",
    },
    "req_found": {
        "en": "Found: document {doc} carries a signature with this code.",
        "ru": "Найдено: документ {doc} содержит подпись с этим кодом.",
        "fa": "یافت شد: سند {doc} امضایی با این کد دارد.",
    },
    "req_found_detail": {
        "en": "Signed {when} by {initials}; method: {method}.",
        "ru": "Подписано {when}, подписант {initials}; способ: {method}.",
        "fa": "امضا در {when} توسط {initials}؛ روش: {method}.",
    },
    "req_hash": {
        "en": "SHA-256 of the newest signed PDF: {sha}",
        "ru": "SHA-256 последней подписанной версии PDF: {sha}",
        "fa": "SHA-256 آخرین PDF امضاشده: {sha}",
    },
    "req_not_found": {
        "en": "No signature with this document id and code. Check what you typed, "
        "or upload the file instead.",
        "ru": "Подпись с таким идентификатором и кодом не найдена. Проверьте ввод "
        "или загрузите файл.",
        "fa": "امضایی با این شناسه و کد یافت نشد. ورودی را بررسی کنید یا فایل را بارگذاری کنید.",
    },
    "reasons": {"en": "Why", "ru": "Причины", "fa": "دلایل"},
    "verify_error_code": {
        "en": "The verification code has 8 letters and digits, like 7KQ4-M2XD "
        "(printed in the signature block).",
        "ru": "Код проверки состоит из 8 букв и цифр, например 7KQ4-M2XD "
        "(напечатан в штампе подписи).",
        "fa": "کد بررسی ۸ حرف و رقم دارد، مانند 7KQ4-M2XD (چاپ‌شده در بلوک امضا).",
    },
    "verify_error_document": {
        "en": "The document id is the long identifier printed in the signature block.",
        "ru": "Идентификатор документа — длинный идентификатор, напечатанный в штампе подписи.",
        "fa": "شناسه سند همان شناسه طولانی چاپ‌شده در بلوک امضا است.",
    },
    "verify_error_file": {
        "en": "This file is not a readable, unencrypted PDF. Choose the signed PDF "
        "as you received it.",
        "ru": "Этот файл не является читаемым незашифрованным PDF. Выберите подписанный PDF "
        "в том виде, в каком вы его получили.",
        "fa": "این فایل یک PDF خوانا و بدون رمز نیست. PDF امضاشده را همان‌طور که دریافت "
        "کرده‌اید انتخاب کنید.",
    },
    "verify_error_too_large": {
        "en": "The file is larger than the upload limit.",
        "ru": "Файл больше допустимого размера.",
        "fa": "حجم فایل بیشتر از حد مجاز است.",
    },
    "verify_error_too_many": {
        "en": "Too many checks from your address. Wait a minute and try again.",
        "ru": "Слишком много проверок с вашего адреса. Подождите минуту и попробуйте снова.",
        "fa": "درخواست‌های بررسی از نشانی شما زیاد است. یک دقیقه صبر کنید و دوباره امتحان کنید.",
    },
    "language": {"en": "Language", "ru": "Язык", "fa": "زبان"},
    "zoom_text": {
        "en": "Zoom and select text",
        "ru": "Увеличить и выделить текст",
        "fa": "بزرگ‌نمایی و انتخاب متن",
    },
    "more_pages_in_pdf": {
        "en": "Pages {first}–{last} are in the PDF: use “Open the PDF” above.",
        "ru": "Страницы {first}–{last} — в PDF: нажмите «Открыть PDF» выше.",
        "fa": "صفحه‌های {first} تا {last} در فایل PDF هستند: «باز کردن PDF» را در بالا بزنید.",
    },
    "page_n": {
        "en": "Page {n} of {total}",
        "ru": "Страница {n} из {total}",
        "fa": "صفحه {n} از {total}",
    },
    # The clinician app (/app, docs/clinician-devices.md).
    "app_title": {"en": "Clinician app", "ru": "Приложение врача", "fa": "برنامه پزشک"},
    "app_intro": {
        "en": "Approve the documents your clinics send you, signed with a key that never "
        "leaves this device.",
        "ru": "Подтверждайте документы, которые присылают ваши клиники: они подписываются "
        "ключом, который не покидает это устройство.",
        "fa": "اسنادی را که درمانگاه‌ها برایتان می‌فرستند تأیید کنید؛ امضا با کلیدی انجام "
        "می‌شود که هرگز از این دستگاه خارج نمی‌شود.",
    },
    "app_needs_js": {
        "en": "This app needs JavaScript.",
        "ru": "Для работы приложения нужен JavaScript.",
        "fa": "این برنامه به جاوااسکریپت نیاز دارد.",
    },
    "app_workplaces": {"en": "Workplaces", "ru": "Места работы", "fa": "محل‌های کار"},
    "app_no_workplace": {
        "en": "No workplace on this device yet. Open the invitation link your clinic sent you.",
        "ru": "На этом устройстве ещё нет места работы. Откройте ссылку-приглашение от клиники.",
        "fa": "هنوز هیچ محل کاری روی این دستگاه نیست. پیوند دعوتی را که درمانگاه فرستاده باز کنید.",
    },
    "app_enroll_heading": {
        "en": "Add a workplace",
        "ru": "Добавить место работы",
        "fa": "افزودن محل کار",
    },
    "app_enroll_text": {
        "en": "This device will create its own signing key and ask the clinic's certificate "
        "authority for a certificate for this workplace. The key never leaves the device.",
        "ru": "Устройство создаст собственный ключ подписи и запросит сертификат для этого "
        "места работы в удостоверяющем центре клиники. Ключ не покидает устройство.",
        "fa": "این دستگاه کلید امضای خود را می‌سازد و برای این محل کار از مرجع صدور گواهی "
        "درمانگاه گواهی می‌گیرد. کلید هرگز از دستگاه خارج نمی‌شود.",
    },
    "app_enroll_button": {
        "en": "Enroll this device",
        "ru": "Подключить это устройство",
        "fa": "ثبت این دستگاه",
    },
    "app_enrolling": {
        "en": "Creating the key and asking for the certificate…",
        "ru": "Создаём ключ и запрашиваем сертификат…",
        "fa": "در حال ساختن کلید و درخواست گواهی…",
    },
    "app_enrolled": {
        "en": "This device is enrolled for {workplace}.",
        "ru": "Устройство подключено: {workplace}.",
        "fa": "این دستگاه برای {workplace} ثبت شد.",
    },
    "app_enroll_failed": {
        "en": "Enrollment failed: {reason}",
        "ru": "Подключить устройство не удалось: {reason}",
        "fa": "ثبت انجام نشد: {reason}",
    },
    "app_protect": {
        "en": "Confirm with your fingerprint, face or screen lock PIN: each approval will ask "
        "for it.",
        "ru": "Подтвердите отпечатком пальца, лицом или PIN-кодом экрана: его будет запрашивать "
        "каждое подтверждение.",
        "fa": "با اثر انگشت، چهره یا رمز قفل صفحه تأیید کنید؛ هر تأیید آن را می‌خواهد.",
    },
    "app_no_authenticator": {
        "en": "This device has no fingerprint, face or screen lock check; approvals are "
        "protected by the device key alone.",
        "ru": "На устройстве нет проверки отпечатком, лицом или блокировкой экрана; "
        "подтверждения защищены только ключом устройства.",
        "fa": "این دستگاه بررسی اثر انگشت، چهره یا قفل صفحه ندارد؛ تأییدها فقط با کلید "
        "دستگاه محافظت می‌شوند.",
    },
    "app_requests_heading": {
        "en": "Requests to sign",
        "ru": "Запросы на подпись",
        "fa": "درخواست‌های امضا",
    },
    "app_no_requests": {
        "en": "No requests waiting.",
        "ru": "Запросов нет.",
        "fa": "درخواستی در انتظار نیست.",
    },
    "app_approve": {"en": "Approve", "ru": "Подписать", "fa": "تأیید"},
    "app_approve_all": {"en": "Approve all", "ru": "Подписать все", "fa": "تأیید همه"},
    "app_reason": {"en": "Reason", "ru": "Причина", "fa": "دلیل"},
    "app_show_document": {"en": "Show document", "ru": "Показать документ", "fa": "نمایش سند"},
    "app_approved": {
        "en": "Approved: {title}",
        "ru": "Подписано: {title}",
        "fa": "تأیید شد: {title}",
    },
    "app_approved_n": {"en": "{n} approved", "ru": "Подписано: {n}", "fa": "{n} مورد تأیید شد"},
    "app_declined": {"en": "Declined: {title}", "ru": "Отклонено: {title}", "fa": "رد شد: {title}"},
    "app_failed": {
        "en": "Not done: {reason}",
        "ru": "Не выполнено: {reason}",
        "fa": "انجام نشد: {reason}",
    },
    "app_confirm": {
        "en": "Confirm on your device…",
        "ru": "Подтвердите на устройстве…",
        "fa": "روی دستگاه خود تأیید کنید…",
    },
    "app_lost_heading": {
        "en": "This device lost its key",
        "ru": "Устройство потеряло ключ",
        "fa": "این دستگاه کلید خود را از دست داده است",
    },
    "app_lost_text": {
        "en": "The signing key for {workplace} is no longer on this device (the browser's data "
        "was cleared), so nothing can be signed with it. Ask your clinic for a new invitation "
        "link and open it on this device to enroll again.",
        "ru": "Ключа подписи для «{workplace}» больше нет на устройстве (данные браузера были "
        "очищены), подписать им ничего нельзя. Попросите в клинике новую ссылку-приглашение и "
        "откройте её на этом устройстве, чтобы подключиться снова.",
        "fa": "کلید امضای {workplace} دیگر روی این دستگاه نیست (داده‌های مرورگر پاک شده)، پس "
        "با آن چیزی امضا نمی‌شود. از درمانگاه پیوند دعوت تازه بخواهید و آن را روی همین دستگاه "
        "باز کنید تا دوباره ثبت شوید.",
    },
    "app_revoked_text": {
        "en": "The clinic no longer accepts this device for {workplace}. Ask your clinic for a "
        "new invitation link.",
        "ru": "Клиника больше не принимает это устройство для «{workplace}». Попросите новую "
        "ссылку-приглашение.",
        "fa": "درمانگاه دیگر این دستگاه را برای {workplace} نمی‌پذیرد. پیوند دعوت تازه بخواهید.",
    },
    "app_remove_workplace": {
        "en": "Remove this workplace",
        "ru": "Удалить это место работы",
        "fa": "حذف این محل کار",
    },
    "app_install": {"en": "Install the app", "ru": "Установить приложение", "fa": "نصب برنامه"},
    "app_offline": {
        "en": "No connection. Requests will appear when it is back.",
        "ru": "Нет соединения. Запросы появятся, когда оно восстановится.",
        "fa": "اتصال برقرار نیست. درخواست‌ها پس از برقراری اتصال نمایش داده می‌شوند.",
    },
    "app_protect_button": {
        "en": "Protect approvals with fingerprint, face or screen lock",
        "ru": "Защитить подтверждения отпечатком, лицом или блокировкой экрана",
        "fa": "محافظت از تأییدها با اثر انگشت، چهره یا قفل صفحه",
    },
    "app_protected": {
        "en": "Approvals for {workplace} now ask for your fingerprint, face or screen lock.",
        "ru": "Подтверждения для «{workplace}» теперь запрашивают отпечаток, лицо или "
        "блокировку экрана.",
        "fa": "تأییدها برای {workplace} اکنون اثر انگشت، چهره یا قفل صفحه را می‌خواهند.",
    },
}


def _add(catalogue: dict[str, dict[str, str]]) -> None:
    """Add an area's catalogue; a key that is already there must mean the same, so one
    area never changes another's words by accident."""
    for key, texts in catalogue.items():
        if key in TEXTS and TEXTS[key] != texts:
            raise ValueError(f"i18n key {key!r} is defined twice with different texts")
        TEXTS[key] = texts


for _catalogue in (CABINET_TEXTS, CONSOLE_TEXTS, CONSOLE_SETTINGS_TEXTS, VISIT_TEXTS, PUSH_TEXTS):
    _add(_catalogue)


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
