"""Every text the server itself says to a person, Swedish first, English second.

Keyed by a stable id; a frame carries both the id (``key``) and the text in the
recipient's language, so a client may show its own wording. A text a young person
reads is in all seven chat languages (``chat.kernel.languages``; only sv and en are
reviewed by native speakers, docs/configuration.md "Languages"); a text only staff
read (``STAFF_ONLY``) is in sv and en, the console's languages. Add a key in sv and
en and ``tests/unit/test_languages.py`` names every language still missing it.
"""

from __future__ import annotations

from datetime import date, datetime

TEXTS: dict[str, dict[str, str]] = {
    "idle_warning": {
        "sv": "Det har varit tyst en stund. Chatten avslutas snart om ingen skriver något.",
        "en": "It has been quiet for a while. The chat will close soon unless someone writes.",
        "ar": "لم يكتب أحد منذ فترة. ستُغلق المحادثة قريبًا إذا لم يكتب أحد شيئًا.",
        "fa": "مدتی است کسی چیزی ننوشته. اگر کسی چیزی ننویسد، گفتگو به‌زودی بسته می‌شود.",
        "so": "Muddo ayaa la aamusnaa. Wadahadalku dhowaan wuu xirmi doonaa haddii aan qof wax qorin.",
        "ti": "ንሓጺር እዋን ዝጸሓፈ ሰብ የለን። ሓደ ሰብ እንተዘይጸሓፈ፡ እቲ ቻት ቀልጢፉ ክዕጾ እዩ።",
        "uk": "Уже деякий час ніхто не пише. Чат скоро закриється, якщо ніхто нічого не напише.",
    },
    "volunteer_lost": {
        "sv": "Anslutningen till volontären bröts. Du står först i kön och får snart prata med någon.",
        "en": "The connection to the volunteer was lost. You are first in the queue and will soon talk to someone.",
        "ar": "انقطع الاتصال بالمتطوع. أنت الأول في الدور وستتحدث مع شخص ما قريبًا.",
        "fa": "ارتباط با داوطلب قطع شد. تو نفر اول صف هستی و به‌زودی با کسی صحبت می‌کنی.",
        "so": "Xiriirkii mutadawacaha wuu go'ay. Adiga ayaa ugu horreeya safka, dhowaan qof ayaad la "
              "hadli doontaa.",
        "ti": "ምስቲ ወለንተኛ ዝነበረ ርክብ ተቋሪጹ። ኣብ መስርዕ ቀዳማይ ኢኻ፡ ቀልጢፍካ ምስ ሓደ ሰብ ክትዛረብ ኢኻ።",
        "uk": "З'єднання з волонтером перервалося. У черзі ти на першому місці й скоро зможеш із кимось "
              "поговорити.",
    },
    "visitor_away": {
        "sv": "Den unga personens anslutning bröts. Chatten väntar på att hen kommer tillbaka.",
        "en": "The young person's connection dropped. The chat waits for them to come back.",
    },
    "visitor_back": {
        "sv": "Den unga personen är tillbaka.",
        "en": "The young person is back.",
    },
    "queue_full": {
        "sv": "Chatten är full just nu. Försök igen om en stund. Är du i fara, ring 112.",
        "en": "The chat is full right now. Please try again in a while. If you are in danger, call 112.",
        "ar": "المحادثة ممتلئة الآن. حاول مرة أخرى بعد قليل. إذا كنت في خطر، اتصل بالرقم 112.",
        "fa": "گفتگو الان پر است. کمی بعد دوباره امتحان کن. اگر در خطر هستی، با 112 تماس بگیر.",
        "so": "Chat-ku hadda wuu buuxaa. Mar kale isku day wax yar kadib. Haddii aad khatar ku jirto, wac 112.",
        "ti": "እቲ ቻት ሕጂ መሊኡ እዩ። ድሕሪ ቁሩብ እዋን እንደገና ፈትን። ኣብ ሓደጋ እንተሃሊኻ፡ ናብ 112 ደውል።",
        "uk": "Чат зараз переповнений. Спробуй ще раз трохи згодом. Якщо ти в небезпеці, телефонуй 112.",
    },
    "network_full": {
        "sv": "Många på samma nätverk som du väntar redan i chatten. Försök igen om en stund, "
              "eller byt nätverk (till exempel mobildata i stället för wifi). Är du i fara, ring 112.",
        "en": "Many people on the same network as you are already waiting in the chat. Please try "
              "again in a while, or switch networks (for example mobile data instead of Wi-Fi). "
              "If you are in danger, call 112.",
        "ar": "كثيرون على نفس الشبكة التي تستخدمها ينتظرون في المحادثة. حاول مرة أخرى بعد قليل، أو غيّر "
              "الشبكة (مثلًا بيانات الهاتف بدلًا من الواي فاي). إذا كنت في خطر، اتصل بالرقم 112.",
        "fa": "افراد زیادی از همان شبکه‌ای که تو استفاده می‌کنی در صف گفتگو هستند. کمی بعد دوباره امتحان "
              "کن یا شبکه را عوض کن (مثلاً اینترنت موبایل به جای وای‌فای). اگر در خطر هستی، با 112 تماس "
              "بگیر.",
        "so": "Dad badan oo ku jira isla shabakadda aad isticmaalayso ayaa hore u sugaya. Mar kale isku "
              "day wax yar kadib, ama beddel shabakadda (tusaale ahaan xogta mobilka halkii wifi). Haddii"
              " aad khatar ku jirto, wac 112.",
        "ti": "ብዙሓት ሰባት ካብቲ ንስኻ ትጥቀመሉ ዘለኻ መርበብ ኣብ ቻት ይጽበዩ ኣለዉ። ድሕሪ ቁሩብ እዋን እንደገና ፈትን፡ ወይ መርበብ ቀይር (ንኣብነት "
              "ሞባይል ዳታ ኣብ ክንዲ ዋይፋይ)። ኣብ ሓደጋ እንተሃሊኻ፡ ናብ 112 ደውል።",
        "uk": "Багато людей з тієї ж мережі, що й ти, вже чекають у чаті. Спробуй ще раз трохи згодом або"
              " зміни мережу (наприклад, мобільний інтернет замість Wi-Fi). Якщо ти в небезпеці, "
              "телефонуй 112.",
    },
    "out_of_hours": {
        "sv": "Chatten är stängd just nu. Den öppnar igen {when}. Är du i fara, ring 112.",
        "en": "The chat is closed right now. It opens again {when}. If you are in danger, call 112.",
        "ar": "المحادثة مغلقة الآن. ستفتح مرة أخرى {when}. إذا كنت في خطر، اتصل بالرقم 112.",
        "fa": "گفتگو الان بسته است. دوباره {when} باز می‌شود. اگر در خطر هستی، با 112 تماس بگیر.",
        "so": "Chat-ku hadda wuu xiran yahay. Wuxuu mar kale furmayaa {when}. Haddii aad khatar ku jirto,"
              " wac 112.",
        "ti": "እቲ ቻት ሕጂ ዕጹው እዩ። {when} እንደገና ክኽፈት እዩ። ኣብ ሓደጋ እንተሃሊኻ፡ ናብ 112 ደውል።",
        "uk": "Чат зараз закритий. Він знову відкриється {when}. Якщо ти в небезпеці, телефонуй 112.",
    },
    "out_of_hours_no_date": {
        "sv": "Chatten är stängd just nu. Är du i fara, ring 112.",
        "en": "The chat is closed right now. If you are in danger, call 112.",
        "ar": "المحادثة مغلقة الآن. إذا كنت في خطر، اتصل بالرقم 112.",
        "fa": "گفتگو الان بسته است. اگر در خطر هستی، با 112 تماس بگیر.",
        "so": "Chat-ku hadda wuu xiran yahay. Haddii aad khatar ku jirto, wac 112.",
        "ti": "እቲ ቻት ሕጂ ዕጹው እዩ። ኣብ ሓደጋ እንተሃሊኻ፡ ናብ 112 ደውል።",
        "uk": "Чат зараз закритий. Якщо ти в небезпеці, телефонуй 112.",
    },
    "supervisor_joined": {
        "sv": "En handledare har anslutit till chatten.",
        "en": "A supervisor has joined the chat.",
        "ar": "انضم مشرف إلى المحادثة.",
        "fa": "یک سرپرست به گفتگو پیوست.",
        "so": "Kormeere ayaa ku soo biiray wadahadalka.",
        "ti": "ሓደ ተቖጻጻሪ ናብቲ ቻት ተጸንቢሩ።",
        "uk": "До чату приєднався супервізор.",
    },
    "supervisor_took_over": {
        "sv": "En handledare tar över samtalet härifrån.",
        "en": "A supervisor is taking over the conversation from here.",
        "ar": "سيتابع مشرف المحادثة من هنا.",
        "fa": "از اینجا یک سرپرست گفتگو را ادامه می‌دهد.",
        "so": "Kormeere ayaa halkan ka sii wadaya wadahadalka.",
        "ti": "ካብዚ ንደሓር ሓደ ተቖጻጻሪ ነቲ ዝርርብ ክቕጽሎ እዩ።",
        "uk": "Далі розмову продовжить супервізор.",
    },
    "transferred": {
        "sv": "Du kopplas vidare till en annan volontär. Stanna kvar, samtalet fortsätter strax.",
        "en": "You are being passed on to another volunteer. Please stay, the conversation continues shortly.",
        "ar": "سيتم تحويلك إلى متطوع آخر. ابقَ هنا، ستستمر المحادثة بعد قليل.",
        "fa": "تو به داوطلب دیگری وصل می‌شوی. بمان، گفتگو به‌زودی ادامه پیدا می‌کند.",
        "so": "Waxaa laguu gudbinayaa mutadawac kale. Sug, wadahadalku dhowaan wuu sii socon doonaa.",
        "ti": "ናብ ካልእ ወለንተኛ ትሰጋገር ኣለኻ። ጽናሕ፡ እቲ ዝርርብ ቀልጢፉ ክቕጽል እዩ።",
        "uk": "Тебе передають іншому волонтеру. Залишайся, розмова скоро продовжиться.",
    },
    "acute_guidance": {
        "sv": "Akut fara: be personen ringa 112 nu om hen eller någon annan är i fara. "
              "Du får själv ringa 112 om det behövs. Din handledare har fått ett larm.",
        "en": "Acute danger: ask the person to call 112 now if they or someone else is in danger. "
              "You may call 112 yourself if needed. Your supervisor has been alerted.",
    },
    "followup_away": {
        "sv": "{name} är inte här just nu. {name} är här igen {when}. Du kan vänta till dess och komma "
              "tillbaka med din kod, eller prata med någon annan nu. Du står redan i kön.",
        "en": "{name} is not here right now. {name} is here again {when}. You can wait until then and come "
              "back with your code, or talk with someone else now. You are already in the queue.",
        "ar": "{name} غير موجود الآن. {name} سيكون هنا مرة أخرى {when}. يمكنك الانتظار حتى ذلك الوقت والعودة برمزك، أو التحدث مع شخص آخر الآن. أنت بالفعل في الدور.",
        "fa": "{name} الان اینجا نیست. {name} دوباره {when} اینجاست. می‌توانی تا آن موقع صبر کنی و با کدت برگردی، یا الان با کس دیگری حرف بزنی. تو همین حالا در صف هستی.",
        "so": "{name} hadda ma joogo. {name} wuxuu mar kale joogi doonaa {when}. Waad sugi kartaa ilaa markaas oo aad la soo noqon kartaa koodhkaaga, ama hadda la hadal qof kale. Horeba waad safka ku jirtaa.",
        "ti": "{name} ሕጂ ኣብዚ የለን። {name} {when} ተመሊሱ ኣብዚ ይኸውን። ክሳብ እቲ ግዜ ተጸቢኻ ብኮድካ ክትምለስ ትኽእል፣ ወይ ሕጂ ምስ ካልእ ሰብ ተዛረብ። ድሮ ኣብ መስርዕ ኣለኻ።",
        "uk": "{name} зараз немає. {name} буде знову {when}. Ти можеш почекати до того часу й повернутися зі своїм кодом або поговорити з кимось іншим зараз. Ти вже в черзі.",
    },
    "followup_away_unbooked": {
        "sv": "{name} är inte här just nu och har inte bokat nästa pass än. Du kan prata med någon annan nu "
              "(du står redan i kön) eller prova din kod en annan kväll.",
        "en": "{name} is not here right now and has not booked their next shift yet. You can talk with "
              "someone else now (you are already in the queue) or try your code another evening.",
        "ar": "{name} غير موجود الآن ولم يحجز مناوبته القادمة بعد. يمكنك التحدث مع شخص آخر الآن (أنت بالفعل في الدور) أو تجربة رمزك في مساء آخر.",
        "fa": "{name} الان اینجا نیست و هنوز نوبت بعدی‌اش را رزرو نکرده است. می‌توانی الان با کس دیگری حرف بزنی (تو همین حالا در صف هستی) یا کدت را شب دیگری امتحان کنی.",
        "so": "{name} hadda ma joogo, mana uusan ballansan wareeggiisa xiga weli. Hadda waad la hadli kartaa qof kale (horeba waad safka ku jirtaa) ama isku day koodhkaaga fiid kale.",
        "ti": "{name} ሕጂ ኣብዚ የለን፣ ቀጻሊ ፈረቓኡ ድማ ገና ኣይሓዘን። ሕጂ ምስ ካልእ ሰብ ክትዛረብ ትኽእል (ድሮ ኣብ መስርዕ ኣለኻ) ወይ ኮድካ ኣብ ካልእ ምሸት ፈትኖ።",
        "uk": "{name} зараз немає, і наступну зміну ще не заброньовано. Ти можеш поговорити з кимось іншим зараз (ти вже в черзі) або спробувати свій код іншого вечора.",
    },
    "followup_busy": {
        "sv": "{name} pratar med någon annan just nu. Du står i kön och får prata med den som blir ledig "
              "först. Vill du hellre vänta på {name}, kom tillbaka med din kod om en stund.",
        "en": "{name} is talking with someone else right now. You are in the queue and will talk with whoever "
              "is free first. If you would rather wait for {name}, come back with your code in a while.",
        "ar": "{name} يتحدث مع شخص آخر الآن. أنت في الدور وستتحدث مع أول من يصبح متاحًا. إذا كنت تفضّل انتظار {name}، عد برمزك بعد قليل.",
        "fa": "{name} الان با کس دیگری حرف می‌زند. تو در صف هستی و با اولین کسی که آزاد شود حرف می‌زنی. اگر ترجیح می‌دهی منتظر {name} بمانی، کمی بعد با کدت برگرد.",
        "so": "{name} hadda wuxuu la hadlayaa qof kale. Waxaad ku jirtaa safka, waxaadna la hadli doontaa qofka ugu horreeya ee bannaanaada. Haddii aad doorbidayso inaad sugto {name}, dib ugu soo noqo koodhkaaga wax yar kadib.",
        "ti": "{name} ሕጂ ምስ ካልእ ሰብ ይዛረብ ኣሎ። ኣብ መስርዕ ኣለኻ፣ ምስቲ ቀዳማይ ናጻ ዝኾነ ድማ ክትዛረብ ኢኻ። ን{name} ክትጽበ እንተመረጽካ፣ ድሕሪ ቁሩብ ብኮድካ ተመለስ።",
        "uk": "{name} зараз розмовляє з кимось іншим. Ти в черзі й поговориш із тим, хто першим звільниться. Якщо хочеш зачекати саме на {name}, повернися зі своїм кодом трохи згодом.",
    },
    "followup_kept": {
        "sv": "{name} pratar med någon annan just nu. Vi håller din plats åt {name} i högst {m} minuter, "
              "så får du prata med {name} när hen blir ledig. Vill du inte vänta kan du prata med någon annan nu.",
        "en": "{name} is talking with someone else right now. We keep your place for {name} for at most {m} "
              "minutes, so you can talk with {name} when they are free. If you don't want to wait, you can talk "
              "with someone else now.",
        "ar": "{name} يتحدث مع شخص آخر الآن. نحتفظ بمكانك لـ {name} لمدة {m} دقيقة على الأكثر، لتتحدث مع {name} عندما يصبح متاحًا. إذا لم ترد الانتظار، يمكنك التحدث مع شخص آخر الآن.",
        "fa": "{name} الان با کس دیگری حرف می‌زند. جای تو را حداکثر {m} دقیقه برای {name} نگه می‌داریم تا وقتی آزاد شد با {name} حرف بزنی. اگر نمی‌خواهی صبر کنی، می‌توانی الان با کس دیگری حرف بزنی.",
        "so": "{name} hadda wuxuu la hadlayaa qof kale. Boosaskaaga waxaan u haynaa {name} ugu badnaan {m} daqiiqo, si aad ula hadasho {name} marka uu bannaanaado. Haddii aadan rabin inaad sugto, hadda waad la hadli kartaa qof kale.",
        "ti": "{name} ሕጂ ምስ ካልእ ሰብ ይዛረብ ኣሎ። ቦታኻ ን{name} ክሳብ {m} ደቒቕ ንሕዘልካ፣ {name} ናጻ ምስ ኮነ ምስኡ ክትዛረብ። ክትጽበ እንተዘይደሊኻ፣ ሕጂ ምስ ካልእ ሰብ ክትዛረብ ትኽእል።",
        "uk": "{name} зараз розмовляє з кимось іншим. Ми тримаємо твоє місце для {name} щонайбільше {m} хв, щоб ти поговорив(-ла) з {name}, коли звільниться. Якщо не хочеш чекати, можеш поговорити з кимось іншим зараз.",
    },
    "followup_released": {
        "sv": "{name} kan inte ta din chatt just nu. Nu får du prata med den som blir ledig först. "
              "Du behåller din plats i kön.",
        "en": "{name} cannot take your chat right now. You will talk with whoever is free first. "
              "You keep your place in the queue.",
        "ar": "{name} لا يستطيع استلام محادثتك الآن. ستتحدث مع أول من يصبح متاحًا. تحتفظ بمكانك في الدور.",
        "fa": "{name} الان نمی‌تواند گفتگوی تو را بگیرد. با اولین کسی که آزاد شود حرف می‌زنی. جایت در صف حفظ می‌شود.",
        "so": "{name} hadda ma qaadan karo chat-kaaga. Waxaad la hadli doontaa qofka ugu horreeya ee bannaanaada. Boosaskaagii safka wuu kuu haray.",
        "ti": "{name} ሕጂ ቻትካ ክወስድ ኣይክእልን። ምስቲ ቀዳማይ ናጻ ዝኾነ ክትዛረብ ኢኻ። ቦታኻ ኣብ መስርዕ ይተርፈካ።",
        "uk": "{name} зараз не може взяти твій чат. Ти поговориш із тим, хто першим звільниться. Твоє місце в черзі зберігається.",
    },
    "followup_someone_else": {
        "sv": "Okej. Du får prata med den som blir ledig först. Du behåller din plats i kön.",
        "en": "Okay. You will talk with whoever is free first. You keep your place in the queue.",
        "ar": "حسنًا. ستتحدث مع أول من يصبح متاحًا. تحتفظ بمكانك في الدور.",
        "fa": "باشه. با اولین کسی که آزاد شود حرف می‌زنی. جایت در صف حفظ می‌شود.",
        "so": "Hagaag. Waxaad la hadli doontaa qofka ugu horreeya ee bannaanaada. Boosaskaagii safka wuu kuu haray.",
        "ti": "ሕራይ። ምስቲ ቀዳማይ ናጻ ዝኾነ ክትዛረብ ኢኻ። ቦታኻ ኣብ መስርዕ ይተርፈካ።",
        "uk": "Добре. Ти поговориш із тим, хто першим звільниться. Твоє місце в черзі зберігається.",
    },
    "blocked": {
        "sv": "Chatten är inte tillgänglig just nu.",
        "en": "The chat is not available right now.",
        "ar": "المحادثة غير متاحة الآن.",
        "fa": "گفتگو الان در دسترس نیست.",
        "so": "Chat-ku hadda lama heli karo.",
        "ti": "እቲ ቻት ሕጂ ኣይርከብን እዩ።",
        "uk": "Чат зараз недоступний.",
    },
}

DEFAULT_LANG = "sv"
# Read by volunteers and supervisors only (the console speaks sv and en).
STAFF_ONLY = frozenset({"visitor_away", "visitor_back", "acute_guidance"})


def text(key: str, lang: str) -> str:
    entry = TEXTS[key]
    return entry.get(lang) or entry[DEFAULT_LANG]


WEEKDAY_NAMES = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ar": ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
    "fa": ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه"),
    "so": ("Isniinta", "Talaadada", "Arbacada", "Khamiista", "Jimcaha", "Sabtida", "Axadda"),
    "ti": ("ሰኑይ", "ሰሉስ", "ረቡዕ", "ሓሙስ", "ዓርቢ", "ቀዳም", "ሰንበት"),
    "uk": ("понеділок", "вівторок", "середу", "четвер", "п'ятницю", "суботу", "неділю"),  # after "у"
}
# Digits stay Western (0-9) in every language, as the widget shows them: a time is read left to right.
_WHEN = {"sv": "{day} {d}/{m} kl. {hh}.{mm}", "en": "on {day} {d}/{m} at {hh}:{mm}",
         "ar": "يوم {day} {d}/{m} الساعة {hh}:{mm}", "fa": "{day} {d}/{m} ساعت {hh}:{mm}",
         "so": "{day} {d}/{m} saacadda {hh}:{mm}", "ti": "{day} {d}/{m} ሰዓት {hh}:{mm}",
         "uk": "у {day} {d}.{m} о {hh}:{mm}"}


def out_of_hours(lang: str, next_open: datetime | None) -> str:
    """The closed sentence with the next opening in local time ("måndag 24/11 kl. 18.00")."""
    if next_open is None:
        return text("out_of_hours_no_date", lang)
    lang = lang if lang in _WHEN else DEFAULT_LANG
    when = _WHEN[lang].format(day=WEEKDAY_NAMES[lang][next_open.weekday()], d=next_open.day,
                              m=next_open.month, hh=f"{next_open.hour:02d}", mm=f"{next_open.minute:02d}")
    return text("out_of_hours", lang).format(when=when)


_RELATIVE = {"sv": ("i dag", "i morgon"), "en": ("today", "tomorrow"), "ar": ("اليوم", "غدًا"),
             "fa": ("امروز", "فردا"), "so": ("maanta", "berri"), "ti": ("ሎሚ", "ጽባሕ"), "uk": ("сьогодні", "завтра")}


def _clock(at: datetime, lang: str) -> str:
    if lang == "sv":
        return f"{at.hour}" if at.minute == 0 else f"{at.hour}.{at.minute:02d}"
    return f"{at.hour}:{at.minute:02d}"


def shift_when(lang: str, start: datetime, end: datetime, today: date) -> str:
    """When a shift is, in local time, as a person says it: "tisdag 19–22", "i morgon 18.30–21",
    "tisdag 15/12 19–22" (more than six days ahead)."""
    lang = lang if lang in _WHEN else DEFAULT_LANG
    days = (start.date() - today).days
    if days in (0, 1):
        day = _RELATIVE[lang][days]
    else:
        day = WEEKDAY_NAMES[lang][start.weekday()]
        if lang == "uk":
            day = "у " + day                # the Ukrainian names are in the form said after "у"
        if days > 6:
            day += f" {start.day}/{start.month}"
    return f"{day} {_clock(start, lang)}–{_clock(end, lang)}"


def followup_kept(lang: str, name: str, wait_s: int) -> str:
    """A returning chat is kept for its busy volunteer, at most ``wait_s`` seconds (whole minutes, up)."""
    return text("followup_kept", lang).format(name=name, m=max(1, -(-wait_s // 60)))


def followup_released(lang: str, name: str) -> str:
    """A chat kept for its volunteer goes to anyone now (time up, volunteer gone, a supervisor)."""
    return text("followup_released", lang).format(name=name)


def followup_away(lang: str, name: str, when: str | None, *, busy: bool = False) -> str:
    """What a young person back with a follow-up code is told when their volunteer is not free."""
    if busy:
        return text("followup_busy", lang).format(name=name)
    if when is None:
        return text("followup_away_unbooked", lang).format(name=name)
    return text("followup_away", lang).format(name=name, when=when)
