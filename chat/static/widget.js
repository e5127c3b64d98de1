/* jourchatt visitor widget (README: "The widget"; protocol: docs/protocol.md). Keeps only the resume
 * token and language, in sessionStorage, wiped on end and on quick exit. */
(() => {
  "use strict";
  var script = document.currentScript;
  if (!script || window.jourchatt) return;

  /* Every text, one object per language (chat.kernel.languages has the same seven). _name is the
   * language's own name for the switch, _rtl lays it out right to left, _reviewed says whether a native
   * speaker has checked it (docs/configuration.md "Languages"). A new key goes into every language;
   * tests/unit/test_languages.py names each language still missing one. */
  var TEXTS = {
    sv: {
      _name: "Svenska", _rtl: false, _reviewed: true,
      fuAsk: "Har du en kod från förra gången?",
      fuHelp: "Skriv koden du fick av volontären, så kan du prata med samma person igen. Du kan hoppa över det.",
      fuBad: "Koden ser inte rätt ut. Kolla den, eller töm rutan.",
      fuUnknown: "Vi hittade inte koden. Den kan vara felskriven eller för gammal. Du står i kön ändå och får prata med den som blir ledig först.",
      fuWait: "Vänta på {name}",
      fuOther: "Prata med någon annan nu",
      fuLeave: "Gå nu och kom tillbaka en annan gång",
      fuKeep: "Spara din kod: {code}",
      fuTitle: "Din kod för att prata med samma person igen",
      fuGiven: "Skriv ner koden eller spara den på ett säkert ställe. Vi sparar den inte åt dig. Den gäller i {n} dagar.",
      language: "Språk", draft: "Översättningen är inte granskad än.", launcher: "Chatta anonymt", title: "Prata med oss",
      minimize: "Stäng (chatten fortsätter)", exit: "Lämna sidan snabbt",
      exitHint: "eller tryck på Skift tre gånger", danger: "Är du i akut fara? Ring 112.",
      loading: "Kollar om chatten är öppen …", open: "Chatten är öppen nu.",
      closed: "Chatten är stängd just nu.", opens: "Den öppnar igen {when}.",
      meanwhile: "Här kan du få hjälp under tiden:", unreachable: "Vi når inte chatten nu. Försök igen snart.",
      promiseTitle: "Du är anonym",
      promise: "Vi frågar aldrig vem du är. Det du skriver sparas inte och är borta när chatten är slut.",
      kept: "Bara en anonym rad sparas, för statistik: dina svar nedan om du vill, vad samtalet handlade om, dag och ungefär när.",
      notKept: "Aldrig namn, telefonnummer, IP-adress eller kakor (cookies).",
      intake: "Frivilliga frågor", intakeHelp: "Du kan hoppa över allt.",
      topic: "Vad vill du prata om?", topic_exposed: "Någon gör mig illa",
      topic_uses_violence: "Jag gör någon illa, eller är rädd att jag gör det", topic_both: "Båda delarna",
      topic_friend_relative: "Jag är orolig för någon", topic_other: "Något annat",
      age: "Hur gammal är du?", gender: "Kön", girl: "Tjej", boy: "Kille", nonbinary: "Icke-binär",
      where: "Var bor du?", district: "Stadsdel", otherPlace: "Någon annan kommun",
      first: "Är det första gången du hör av dig till oss?", yes: "Ja", no: "Nej", noAnswer: "Vill inte svara",
      start: "Starta chatten", history: "Så raderar du webbhistoriken", connecting: "Ansluter …",
      position: "Du är nummer {n} i kön.", wait: "Beräknad väntetid: cirka {m} min.",
      waitShort: "Beräknad väntetid: under en minut.", leaveQueue: "Lämna kön",
      queueHelp: "Du kan börja skriva redan nu. Volontären ser det när chatten börjar.",
      talkingTo: "Du pratar med {name}.", volunteer: "Volontär", you: "Du",
      typing: "{name} skriver …", write: "Skriv ett meddelande", send: "Skicka",
      end: "Avsluta chatten", sent: "Skickat", delivered: "Levererat",
      waiting: "Skickas när anslutningen är tillbaka",
      lost: "Anslutningen bröts. Vi kopplar upp igen …", back: "Ansluten igen.",
      nobody: "Ingen volontär är inloggad just nu.",
      nobodyHelp: "Du kan vänta i kön tills någon loggar in, eller komma tillbaka senare.",
      ended: "Chatten är avslutad.", by_visitor: "Du avslutade chatten.",
      by_volunteer: "Volontären avslutade chatten.", by_timeout: "Chatten avslutades efter en lång tystnad.",
      by_supervisor: "Chatten avslutades av en handledare.", again: "Starta en ny chatt",
      elsewhere: "Chatten fortsätter i ett annat fönster.",
      guard: "Du behöver inte berätta vem du är. Telefonnummer, mejl och personnummer behövs inte här.",
      help: "Tips på stöd", code: "Din kod", codeHelp: "Uppge koden om du kontaktar dem. Den visar inte vem du är.",
      copy: "Kopiera koden", copied: "Koden är kopierad.", call: "Ring {p}",
      anonymous: "Du kan vara anonym.", failed: "Något gick fel. Försök igen.",
      survey: "Vill du svara på tre snabba frågor? Det är frivilligt och anonymt.", step: "Fråga {n} av 3",
      helped: "Kändes samtalet till hjälp?", knows_where_to_turn: "Vet du var du kan vända dig nu?",
      would_return: "Skulle du chatta med oss igen?", partly: "Delvis", unsure: "Vet inte", skip: "Hoppa över",
      thanks: "Tack! Dina svar hjälper oss att bli bättre."
    },
    en: {
      _name: "English", _rtl: false, _reviewed: true,
      fuAsk: "Do you have a code from last time?",
      fuHelp: "Type the code the volunteer gave you to talk with the same person again. You can skip this.",
      fuBad: "The code does not look right. Check it, or empty the box.",
      fuUnknown: "We could not find the code. It may be mistyped or too old. You are in the queue anyway and will talk with whoever is free first.",
      fuWait: "Wait for {name}",
      fuOther: "Talk with someone else now",
      fuLeave: "Leave now and come back another time",
      fuKeep: "Keep your code: {code}",
      fuTitle: "Your code to talk with the same person again",
      fuGiven: "Write the code down or keep it somewhere safe. We do not save it for you. It is valid for {n} days.",
      language: "Language", draft: "This translation is not reviewed yet.", launcher: "Chat anonymously", title: "Talk to us",
      minimize: "Close (the chat goes on)", exit: "Exit this page",
      exitHint: "or press Shift three times", danger: "In immediate danger? Call 112.",
      loading: "Checking whether the chat is open …", open: "The chat is open now.",
      closed: "The chat is closed right now.", opens: "It opens again {when}.",
      meanwhile: "Where you can get help meanwhile:", unreachable: "Cannot reach the chat right now. Try again soon.",
      promiseTitle: "You are anonymous",
      promise: "We never ask who you are. What you write is not saved and is gone when the chat is over.",
      kept: "Only one anonymous line is kept, for statistics: your answers below if you give them, what the chat was about, the day and roughly when.",
      notKept: "Never names, phone numbers, IP addresses or cookies.",
      intake: "Optional questions", intakeHelp: "You can skip all of them.",
      topic: "What do you want to talk about?", topic_exposed: "Someone is hurting me",
      topic_uses_violence: "I hurt someone, or I'm afraid I do", topic_both: "Both",
      topic_friend_relative: "I'm worried about someone", topic_other: "Something else",
      age: "How old are you?", gender: "Gender", girl: "Girl", boy: "Boy", nonbinary: "Non-binary",
      where: "Where do you live?", district: "District", otherPlace: "Another municipality",
      first: "Is this the first time you contact us?", yes: "Yes", no: "No", noAnswer: "Prefer not to say",
      start: "Start the chat", history: "How to delete your browser history", connecting: "Connecting …",
      position: "You are number {n} in the queue.", wait: "Estimated wait: about {m} min.",
      waitShort: "Estimated wait: less than a minute.", leaveQueue: "Leave the queue",
      queueHelp: "You can start writing now. The volunteer sees it when the chat begins.",
      talkingTo: "You are talking to {name}.", volunteer: "Volunteer", you: "You",
      typing: "{name} is typing …", write: "Write a message", send: "Send",
      end: "End the chat", sent: "Sent", delivered: "Delivered",
      waiting: "Will be sent when the connection is back",
      lost: "The connection dropped. Reconnecting …", back: "Connected again.",
      nobody: "No volunteer is signed in right now.",
      nobodyHelp: "You can wait in the queue until someone signs in, or come back later.",
      ended: "The chat is over.", by_visitor: "You ended the chat.",
      by_volunteer: "The volunteer ended the chat.", by_timeout: "The chat ended after a long silence.",
      by_supervisor: "A supervisor ended the chat.", again: "Start a new chat",
      elsewhere: "The chat goes on in another window.",
      guard: "You don't need to say who you are. No phone numbers, e-mail or ID numbers are needed here.",
      help: "Where to get help", code: "Your code", codeHelp: "Give the code if you contact them. It does not show who you are.",
      copy: "Copy the code", copied: "The code is copied.", call: "Call {p}",
      anonymous: "You can stay anonymous.", failed: "Something went wrong. Please try again.",
      survey: "Would you answer three quick questions? It is up to you and anonymous.", step: "Question {n} of 3",
      helped: "Did the chat help you?", knows_where_to_turn: "Do you know where you can turn now?",
      would_return: "Would you chat with us again?", partly: "Partly", unsure: "Not sure", skip: "Skip",
      thanks: "Thank you! Your answers help us do better."
    },
    ar: {
      _name: "العربية", _rtl: true, _reviewed: false, language: "اللغة",
      fuAsk: "هل لديك رمز من المرة السابقة؟",
      fuHelp: "اكتب الرمز الذي أعطاك إياه المتطوع لتتحدث مع الشخص نفسه مرة أخرى. يمكنك تخطي هذا.",
      fuBad: "الرمز لا يبدو صحيحًا. تحقق منه، أو أفرغ الخانة.",
      fuUnknown: "لم نجد الرمز. ربما كُتب بشكل خاطئ أو أصبح قديمًا. أنت في الدور على أي حال وستتحدث مع أول من يصبح متاحًا.",
      fuWait: "انتظر {name}",
      fuOther: "تحدّث مع شخص آخر الآن",
      fuLeave: "غادر الآن وعُد في وقت آخر",
      fuKeep: "احتفظ برمزك: {code}",
      fuTitle: "رمزك للتحدث مع الشخص نفسه مرة أخرى",
      fuGiven: "اكتب الرمز أو احفظه في مكان آمن. نحن لا نحفظه لك. الرمز صالح لمدة {n} يومًا.",
      topic: "عن ماذا تريد أن تتحدث؟", topic_exposed: "شخص ما يؤذيني", topic_uses_violence: "أنا أؤذي شخصًا ما، أو أخاف أنني أفعل ذلك", topic_both: "الاثنان معًا", topic_friend_relative: "أنا قلق على شخص ما", topic_other: "شيء آخر",
      draft: "هذه الترجمة لم يراجعها متحدث أصلي باللغة بعد.", launcher: "تحدّث معنا دون ذكر اسمك",
      title: "تحدّث معنا", minimize: "إغلاق (تستمر المحادثة)", exit: "غادر هذه الصفحة بسرعة",
      exitHint: "أو اضغط على Shift ثلاث مرات", danger: "هل أنت في خطر مباشر؟ اتصل بالرقم 112.",
      loading: "نتحقق إن كانت المحادثة مفتوحة …", open: "المحادثة مفتوحة الآن.", closed: "المحادثة مغلقة الآن.",
      opens: "ستفتح مرة أخرى {when}.", meanwhile: "هنا يمكنك الحصول على المساعدة في هذه الأثناء:",
      unreachable: "لا نستطيع الوصول إلى المحادثة الآن. حاول مرة أخرى بعد قليل.",
      promiseTitle: "لا أحد يعرف من أنت",
      promise: "لن نسألك أبدًا من أنت. ما تكتبه لا يُحفظ ويختفي عندما تنتهي المحادثة.",
      kept: "يُحفظ سطر واحد فقط بدون اسم، للإحصاءات: إجاباتك أدناه إن أردت، وموضوع المحادثة، واليوم والوقت تقريبًا.",
      notKept: "لا نحفظ أبدًا الأسماء أو أرقام الهواتف أو عنوان IP أو ملفات تعريف الارتباط (cookies).",
      intake: "أسئلة اختيارية", intakeHelp: "يمكنك تخطي كل الأسئلة.", age: "كم عمرك؟", gender: "الجنس",
      girl: "فتاة", boy: "فتى", nonbinary: "غير ثنائي الجنس", where: "أين تسكن؟", district: "الحي",
      otherPlace: "بلدية أخرى", first: "هل هذه أول مرة تتواصل فيها معنا؟", yes: "نعم", no: "لا",
      noAnswer: "لا أريد الإجابة", start: "ابدأ المحادثة", history: "كيف تحذف سجل التصفح",
      connecting: "جارٍ الاتصال …", position: "رقمك في الدور: {n}.",
      wait: "وقت الانتظار المتوقع: حوالي {m} دقيقة.", waitShort: "وقت الانتظار المتوقع: أقل من دقيقة.",
      leaveQueue: "غادر الدور",
      queueHelp: "يمكنك أن تبدأ الكتابة الآن. سيرى المتطوع ما كتبته عندما تبدأ المحادثة.",
      talkingTo: "أنت تتحدث مع {name}.", volunteer: "متطوع", you: "أنت", typing: "{name} يكتب …",
      write: "اكتب رسالة", send: "إرسال", end: "إنهاء المحادثة", sent: "أُرسلت", delivered: "وصلت",
      waiting: "ستُرسل عندما يعود الاتصال", lost: "انقطع الاتصال. نعيد الاتصال …", back: "عاد الاتصال.",
      ended: "انتهت المحادثة.", by_visitor: "أنهيت المحادثة.", by_volunteer: "أنهى المتطوع المحادثة.",
      by_timeout: "انتهت المحادثة بعد صمت طويل.", by_supervisor: "أنهى مشرف المحادثة.",
      again: "ابدأ محادثة جديدة", elsewhere: "المحادثة مستمرة في نافذة أخرى.",
      guard: "لا تحتاج أن تقول من أنت. لا حاجة هنا لرقم الهاتف أو البريد الإلكتروني أو الرقم الشخصي.",
      help: "أماكن للحصول على الدعم", code: "رمزك",
      codeHelp: "أعطهم هذا الرمز إذا تواصلت معهم. الرمز لا يكشف من أنت.", copy: "انسخ الرمز",
      copied: "تم نسخ الرمز.", call: "اتصل بالرقم {p}", anonymous: "يمكنك ألا تذكر اسمك.",
      failed: "حدث خطأ ما. حاول مرة أخرى.",
      survey: "هل تريد أن تجيب عن ثلاثة أسئلة سريعة؟ هذا اختياري ولا أحد يعرف من أنت.", step: "السؤال {n} من 3",
      helped: "هل ساعدتك المحادثة؟", knows_where_to_turn: "هل تعرف الآن إلى أين يمكنك أن تلجأ؟",
      would_return: "هل ستتحدث معنا مرة أخرى؟", partly: "إلى حدٍّ ما", unsure: "لا أعرف", skip: "تخطَّ",
      thanks: "شكرًا! إجاباتك تساعدنا أن نصبح أفضل.",
      nobody: "لا يوجد متطوع متصل الآن.",
      nobodyHelp: "يمكنك الانتظار في الدور حتى يدخل أحد، أو العودة لاحقًا."
    },
    fa: {
      _name: "فارسی", _rtl: true, _reviewed: false, language: "زبان",
      fuAsk: "از دفعهٔ قبل کد داری؟",
      fuHelp: "کدی را که داوطلب به تو داد بنویس تا دوباره با همان نفر حرف بزنی. می‌توانی این را رد کنی.",
      fuBad: "کد درست به نظر نمی‌رسد. آن را بررسی کن یا خانه را خالی کن.",
      fuUnknown: "کد را پیدا نکردیم. شاید اشتباه نوشته شده یا قدیمی شده است. به هر حال در صف هستی و با اولین کسی که آزاد شود حرف می‌زنی.",
      fuWait: "منتظر {name} بمان",
      fuOther: "الان با کس دیگری حرف بزن",
      fuLeave: "الان برو و وقت دیگری برگرد",
      fuKeep: "کدت را نگه دار: {code}",
      fuTitle: "کد تو برای حرف زدن دوباره با همان نفر",
      fuGiven: "کد را یادداشت کن یا جای امنی نگه دار. ما آن را برایت ذخیره نمی‌کنیم. این کد {n} روز اعتبار دارد.",
      topic: "دربارهٔ چه چیزی می‌خواهی حرف بزنی؟", topic_exposed: "کسی به من آسیب می‌زند", topic_uses_violence: "من به کسی آسیب می‌زنم، یا می‌ترسم که این کار را می‌کنم", topic_both: "هر دو", topic_friend_relative: "نگران کسی هستم", topic_other: "چیز دیگری",
      draft: "این ترجمه هنوز توسط یک فارسی‌زبان بررسی نشده است.", launcher: "گفتگوی ناشناس",
      title: "با ما حرف بزن", minimize: "بستن (گفتگو ادامه دارد)", exit: "سریع از این صفحه خارج شو",
      exitHint: "یا سه بار کلید Shift را بزن", danger: "در خطر فوری هستی؟ با 112 تماس بگیر.",
      loading: "داریم بررسی می‌کنیم که گفتگو باز است یا نه …", open: "گفتگو الان باز است.",
      closed: "گفتگو الان بسته است.", opens: "دوباره {when} باز می‌شود.",
      meanwhile: "تا آن موقع از اینجا می‌توانی کمک بگیری:",
      unreachable: "الان به گفتگو دسترسی نداریم. کمی بعد دوباره امتحان کن.",
      promiseTitle: "کسی نمی‌داند تو کی هستی",
      promise: "ما هیچ‌وقت نمی‌پرسیم تو کی هستی. چیزی که می‌نویسی ذخیره نمی‌شود و بعد از پایان گفتگو از بین می‌رود.",
      kept: "فقط یک سطر بی‌نام برای آمار نگه داشته می‌شود: جواب‌های تو در پایین اگر بخواهی، موضوع گفتگو، روز و زمان تقریبی.",
      notKept: "هیچ‌وقت نام، شماره تلفن، آدرس IP یا کوکی (cookies) ذخیره نمی‌شود.", intake: "سؤال‌های اختیاری",
      intakeHelp: "می‌توانی همه را رد کنی.", age: "چند سالت است؟", gender: "جنسیت", girl: "دختر", boy: "پسر",
      nonbinary: "نان‌باینری", where: "کجا زندگی می‌کنی؟", district: "محله", otherPlace: "شهرداری دیگر",
      first: "اولین بار است که با ما تماس می‌گیری؟", yes: "بله", no: "نه", noAnswer: "نمی‌خواهم جواب بدهم",
      start: "شروع گفتگو", history: "چطور تاریخچه مرورگر را پاک کنی", connecting: "در حال اتصال …",
      position: "نفر {n} در صف هستی.", wait: "زمان انتظار تقریبی: حدود {m} دقیقه.",
      waitShort: "زمان انتظار تقریبی: کمتر از یک دقیقه.", leaveQueue: "خروج از صف",
      queueHelp: "می‌توانی از همین حالا بنویسی. داوطلب وقتی گفتگو شروع شود آن را می‌بیند.",
      talkingTo: "داری با {name} حرف می‌زنی.", volunteer: "داوطلب", you: "تو", typing: "{name} دارد می‌نویسد …",
      write: "یک پیام بنویس", send: "ارسال", end: "پایان گفتگو", sent: "ارسال شد", delivered: "رسید",
      waiting: "وقتی اتصال برگردد ارسال می‌شود", lost: "اتصال قطع شد. دوباره وصل می‌شویم …",
      back: "دوباره وصل شدی.", ended: "گفتگو تمام شد.", by_visitor: "تو گفتگو را تمام کردی.",
      by_volunteer: "داوطلب گفتگو را تمام کرد.", by_timeout: "گفتگو بعد از یک سکوت طولانی تمام شد.",
      by_supervisor: "یک سرپرست گفتگو را تمام کرد.", again: "شروع یک گفتگوی تازه",
      elsewhere: "گفتگو در پنجره دیگری ادامه دارد.",
      guard: "لازم نیست بگویی کی هستی. اینجا به شماره تلفن، ایمیل یا شماره شخصی نیازی نیست.",
      help: "کجا می‌توانی کمک بگیری", code: "کد تو",
      codeHelp: "اگر با آن‌ها تماس گرفتی، این کد را بگو. کد نشان نمی‌دهد تو کی هستی.", copy: "کپی کردن کد",
      copied: "کد کپی شد.", call: "تماس با {p}", anonymous: "می‌توانی ناشناس بمانی.",
      failed: "مشکلی پیش آمد. دوباره امتحان کن.",
      survey: "می‌خواهی به سه سؤال کوتاه جواب بدهی؟ اختیاری و ناشناس است.", step: "سؤال {n} از 3",
      helped: "این گفتگو به تو کمک کرد؟", knows_where_to_turn: "حالا می‌دانی برای کمک به کجا می‌توانی بروی؟",
      would_return: "دوباره با ما گفتگو می‌کنی؟", partly: "تا حدی", unsure: "نمی‌دانم", skip: "رد شدن",
      thanks: "ممنون! جواب‌هایت به ما کمک می‌کند بهتر شویم.",
      nobody: "الان هیچ داوطلبی آنلاین نیست.",
      nobodyHelp: "می‌توانی در صف بمانی تا کسی وارد شود، یا بعداً برگردی."
    },
    so: {
      _name: "Soomaali", _rtl: false, _reviewed: false, language: "Luqadda",
      fuAsk: "Ma haysaa kood markii hore laguu siiyay?",
      fuHelp: "Qor koodhka uu mutadawacu ku siiyay si aad mar kale ula hadasho isla qofka. Waad ka boodi kartaa.",
      fuBad: "Koodhku uma eka mid sax ah. Hubi, ama sanduuqa bannee.",
      fuUnknown: "Koodhka ma helin. Waxaa laga yaabaa in si khaldan loo qoray ama uu duugoobay. Si kastaba waxaad ku jirtaa safka, waxaadna la hadli doontaa qofka ugu horreeya ee bannaanaada.",
      fuWait: "Sug {name}",
      fuOther: "Hadda la hadal qof kale",
      fuLeave: "Hadda bax oo mar kale soo noqo",
      fuKeep: "Kaydi koodhkaaga: {code}",
      fuTitle: "Koodhkaaga si aad mar kale ula hadasho isla qofka",
      fuGiven: "Qor koodhka ama meel ammaan ah ku kaydi. Annagu kuuma kaydinno. Wuxuu shaqeynayaa {n} maalmood.",
      topic: "Maxaad rabtaa inaad ka hadasho?", topic_exposed: "Qof baa i dhibaateynaya", topic_uses_violence: "Anigaa qof dhibaateeya, ama waxaan ka baqayaa inaan sidaas sameeyo", topic_both: "Labadaba", topic_friend_relative: "Qof baan ka welwelsanahay", topic_other: "Wax kale",
      draft: "Turjumaaddan weli ma hubin qof Soomaali ku dhashay.", launcher: "Si qarsoodi ah ula sheekayso",
      title: "Nala hadal", minimize: "Xir (wadahadalku wuu socdaa)", exit: "Si dhakhso ah uga bax bogga",
      exitHint: "ama saddex jeer riix Shift", danger: "Ma ku jirtaa khatar degdeg ah? Wac 112.",
      loading: "Waxaan hubinaynaa in chat-ku furan yahay …", open: "Chat-ku hadda wuu furan yahay.",
      closed: "Chat-ku hadda wuu xiran yahay.", opens: "Wuxuu mar kale furmayaa {when}.",
      meanwhile: "Halkan waxaad ka heli kartaa caawimaad inta aad sugayso:",
      unreachable: "Hadda ma gaari karno chat-ka. Dhowaan mar kale isku day.",
      promiseTitle: "Cidna ma oga cidda aad tahay",
      promise: "Weligeen ma weydiinno cidda aad tahay. Waxaad qorto lama kaydiyo, wayna baaba'aan marka chat-ku dhammaado.",
      kept: "Hal saf oo magac la'aan ah ayaa keliya la kaydiyaa, tirakoob ahaan: jawaabahaaga hoose haddii aad rabto, waxa wadahadalku ku saabsanaa, maalinta iyo qiyaas ahaan goorta.",
      notKept: "Weligeen ma kaydinno magac, lambar taleefan, cinwaanka IP ama cookies.",
      intake: "Su'aalo ikhtiyaari ah", intakeHelp: "Dhammaan waad ka boodi kartaa.",
      age: "Immisa jir baad tahay?", gender: "Jinsiga", girl: "Gabar", boy: "Wiil",
      nonbinary: "Labada midna ma ahi", where: "Xaggee ku nooshahay?", district: "Xaafadda",
      otherPlace: "Degmo kale", first: "Ma tahay markii ugu horreysay ee aad nala soo xiriirto?", yes: "Haa",
      no: "Maya", noAnswer: "Ma doonayo inaan ka jawaabo", start: "Bilow chat-ka",
      history: "Sida loo tirtiro taariikhda browser-ka", connecting: "Waa la xiriirinayaa …",
      position: "Waxaad tahay lambarka {n} ee safka.", wait: "Waqtiga sugitaanka: qiyaastii {m} daqiiqo.",
      waitShort: "Waqtiga sugitaanka: in ka yar hal daqiiqo.", leaveQueue: "Ka bax safka",
      queueHelp: "Hadda ayaad bilaabi kartaa qoraalka. Mutadawacu wuu arki doonaa marka chat-ku bilaabmo.",
      talkingTo: "Waxaad la hadlaysaa {name}.", volunteer: "Mutadawac", you: "Adiga",
      typing: "{name} wuu qorayaa …", write: "Qor fariin", send: "Dir", end: "Dhammee chat-ka",
      sent: "Waa la diray", delivered: "Waa la gaarsiiyay",
      waiting: "Waa la diri doonaa marka xiriirku soo laabto",
      lost: "Xiriirku wuu go'ay. Waan dib u xiriirinaynaa …", back: "Mar kale waa lagu xiriiriyay.",
      ended: "Chat-ku wuu dhammaaday.", by_visitor: "Adiga ayaa dhammeeyay chat-ka.",
      by_volunteer: "Mutadawaca ayaa dhammeeyay chat-ka.",
      by_timeout: "Chat-ku wuu dhammaaday kadib aamusnaan dheer.",
      by_supervisor: "Kormeere ayaa dhammeeyay chat-ka.", again: "Bilow chat cusub",
      elsewhere: "Chat-ku wuxuu ka socdaa daaqad kale.",
      guard: "Uma baahnid inaad sheegto cidda aad tahay. Halkan looma baahna lambar taleefan, iimayl ama lambarka aqoonsiga.",
      help: "Meelaha caawimaad laga helo", code: "Koodhkaaga",
      codeHelp: "Sii koodhka haddii aad la xiriirto. Ma muujinayo cidda aad tahay.", copy: "Koobiyee koodhka",
      copied: "Koodhka waa la koobiyeeyay.", call: "Wac {p}", anonymous: "Waad qarsoonaan kartaa.",
      failed: "Wax baa khaldamay. Mar kale isku day.",
      survey: "Ma rabtaa inaad ka jawaabto saddex su'aalood oo gaaban? Waa ikhtiyaari waana qarsoodi.",
      step: "Su'aasha {n} ee 3", helped: "Chat-ku ma ku caawiyay?",
      knows_where_to_turn: "Ma ogtahay hadda meesha aad caawimaad ka heli karto?",
      would_return: "Mar kale ma nala sheekaysan lahayd?", partly: "Qayb ahaan", unsure: "Ma garanayo",
      skip: "Ka bood", thanks: "Mahadsanid! Jawaabahaagu waxay naga caawinayaan inaan sii fiicnaanno.",
      nobody: "Hadda mutadawac ma joogo.",
      nobodyHelp: "Waad ku sugi kartaa safka ilaa qof soo galo, ama dib u soo noqo mar dambe."
    },
    ti: {
      _name: "ትግርኛ", _rtl: false, _reviewed: false, language: "ቋንቋ", draft: "እዚ ትርጉም ገና ብተዛራባይ ቋንቋ ኣይተመርመረን።",
      fuAsk: "ካብ ዝሓለፈ ግዜ ኮድ ኣለካ ድዩ?",
      fuHelp: "ምስ ሓደ ሰብ ደጊምካ ክትዛረብ፡ እቲ ወለንተኛ ዝሃበካ ኮድ ጽሓፍ። ክትሓልፎ ትኽእል ኢኻ።",
      fuBad: "እቲ ኮድ ቅኑዕ ኣይመስልን። ፈትሾ፡ ወይ ነቲ ሳጹን ኣጥፍኦ።",
      fuUnknown: "ነቲ ኮድ ኣይረኸብናዮን። ብጌጋ ተጻሒፉ ወይ ኣረጊቱ ክኸውን ይኽእል። ብዝኾነ ኣብ መስርዕ ኣለኻ፡ ምስቲ ቀዳማይ ናጻ ዝኾነ ድማ ክትዛረብ ኢኻ።",
      fuWait: "ን{name} ተጸበ",
      fuOther: "ሕጂ ምስ ካልእ ሰብ ተዛረብ",
      fuLeave: "ሕጂ ኺድ እሞ ካልእ ግዜ ተመለስ",
      fuKeep: "ኮድካ ዓቅብ፦ {code}",
      fuTitle: "ምስ ሓደ ሰብ ደጊምካ ንምዝራብ ኮድካ",
      fuGiven: "ነቲ ኮድ ጽሓፎ ወይ ኣብ ውሑስ ቦታ ዓቅቦ። ንሕና ኣይንዕቅበልካን ኢና። ን{n} መዓልታት ይሰርሕ።",
      topic: "ብዛዕባ እንታይ ክትዛረብ ትደሊ?", topic_exposed: "ሓደ ሰብ ይጎድኣኒ ኣሎ", topic_uses_violence: "ኣነ ንሓደ ሰብ እጎድእ ኣለኹ፣ ወይ ከምዝገብሮ እፈርህ", topic_both: "ክልቲኡ", topic_friend_relative: "ብዛዕባ ሓደ ሰብ ይጭነቕ ኣለኹ", topic_other: "ካልእ ነገር",
      launcher: "ብዘይ ስም ተዘራረብ", title: "ምሳና ተዛረብ", minimize: "ዕጾ (እቲ ቻት ይቕጽል)", exit: "ካብዚ ገጽ ቀልጢፍካ ውጻእ",
      exitHint: "ወይ ሰለስተ ግዜ Shift ጠውቕ", danger: "ኣብ ህጹጽ ሓደጋ ዲኻ? ናብ 112 ደውል።",
      loading: "እቲ ቻት ክፉት ምዃኑ ንርኢ ኣለና …", open: "እቲ ቻት ሕጂ ክፉት እዩ።", closed: "እቲ ቻት ሕጂ ዕጹው እዩ።",
      opens: "{when} እንደገና ክኽፈት እዩ።", meanwhile: "ክሳብ ሽዑ ኣብዚ ሓገዝ ክትረክብ ትኽእል ኢኻ፦",
      unreachable: "ሕጂ ናብቲ ቻት ክንበጽሕ ኣይከኣልናን። ድሕሪ ቁሩብ እንደገና ፈትን።", promiseTitle: "መን ምዃንካ ዝፈልጥ የለን",
      promise: "መን ምዃንካ ፈጺምና ኣይንሓተካን ኢና። ዝጸሓፍካዮ ኣይዕቀብን፡ እቲ ቻት ምስ ተወድአ ይጠፍእ።",
      kept: "ንጸብጻብ ጥራይ ሓንቲ ስም ዘይብላ መስመር ትዕቀብ፦ እንተደሊኻ ኣብ ታሕቲ ዝህብካዮ መልስታት፡ እቲ ዝርርብ ብዛዕባ እንታይ ምንባሩ፡ መዓልትን ግምታዊ ሰዓትን።",
      notKept: "ስም፡ ቁጽሪ ተሌፎን፡ IP ኣድራሻ ወይ cookies ፈጺሙ ኣይዕቀብን።", intake: "ኣማራጺ ሕቶታት",
      intakeHelp: "ኩሉ ክትሓልፎ ትኽእል ኢኻ።", age: "ዕድሜኻ ክንደይ እዩ?", gender: "ጾታ", girl: "ጓል", boy: "ወዲ",
      nonbinary: "ካልእ (non-binary)", where: "ኣበይ ትቕመጥ?", district: "ከባቢ", otherPlace: "ካልእ ምምሕዳር",
      first: "ንመጀመርታ ግዜ ዲኻ ትረኽበና ዘለኻ?", yes: "እወ", no: "ኣይፋል", noAnswer: "ክምልስ ኣይደልን", start: "ቻት ጀምር",
      history: "ታሪኽ መርበብ ከመይ ከም እትድምስስ", connecting: "ይራኸብ ኣሎ …", position: "ኣብ መስርዕ ቁጽሪ {n} ኢኻ።",
      wait: "ግምታዊ ናይ ምጽባይ ግዜ፦ ኣስታት {m} ደቒቕ።", waitShort: "ግምታዊ ናይ ምጽባይ ግዜ፦ ካብ ሓደ ደቒቕ ንታሕቲ።",
      leaveQueue: "ካብ መስርዕ ውጻእ", queueHelp: "ሕጂ ክትጽሕፍ ክትጅምር ትኽእል ኢኻ። እቲ ወለንተኛ ቻት ምስ ጀመረ ክርእዮ እዩ።",
      talkingTo: "ምስ {name} ትዛረብ ኣለኻ።", volunteer: "ወለንተኛ", you: "ንስኻ", typing: "{name} ይጽሕፍ ኣሎ …",
      write: "መልእኽቲ ጽሓፍ", send: "ስደድ", end: "ቻት ወድእ", sent: "ተላኢኹ", delivered: "በጺሑ",
      waiting: "ርክብ ምስ ተመልሰ ክለኣኽ እዩ", lost: "ርክብ ተቋሪጹ። እንደገና ንራኸብ ኣለና …", back: "እንደገና ተራኺብካ።",
      ended: "እቲ ቻት ተወዲኡ።", by_visitor: "ንስኻ ነቲ ቻት ወዲእካዮ።", by_volunteer: "እቲ ወለንተኛ ነቲ ቻት ወዲእዎ።",
      by_timeout: "እቲ ቻት ድሕሪ ነዊሕ ህድኣት ተወዲኡ።", by_supervisor: "ሓደ ተቖጻጻሪ ነቲ ቻት ወዲእዎ።", again: "ሓድሽ ቻት ጀምር",
      elsewhere: "እቲ ቻት ኣብ ካልእ መስኮት ይቕጽል ኣሎ።",
      guard: "መን ምዃንካ ክትነግር ኣየድልን። ኣብዚ ቁጽሪ ተሌፎን፡ ኢመይል ወይ መለለዪ ቁጽሪ ኣየድልን።", help: "ሓገዝ ኣበይ ክትረክብ", code: "ኮድካ",
      codeHelp: "እንተ ረኺብካዮም ነዚ ኮድ ሃቦም። መን ምዃንካ ኣየርእን።", copy: "ኮድ ቅዳሕ", copied: "እቲ ኮድ ተቐዲሑ።",
      call: "ናብ {p} ደውል", anonymous: "ስምካ ከይገለጽካ ክትከውን ትኽእል ኢኻ።", failed: "ገለ ጌጋ ተፈጢሩ። እንደገና ፈትን።",
      survey: "ንሰለስተ ሓጸርቲ ሕቶታት ክትምልስ ትደሊ ዲኻ? ብድሌትካ እዩ፡ መን ምዃንካ ድማ ኣይፍለጥን።", step: "ሕቶ {n} ካብ 3",
      helped: "እቲ ቻት ሓጊዙካ ድዩ?", knows_where_to_turn: "ሕጂ ንሓገዝ ናበይ ክትከይድ ከም እትኽእል ትፈልጥ ዲኻ?",
      would_return: "ደጊምካ ምሳና ክትዘራረብ ዲኻ?", partly: "ብከፊል", unsure: "ኣይፈልጥን", skip: "ሕለፍ",
      thanks: "የቐንየልና! መልስታትካ ክንመሓየሽ ይሕግዘና።",
      nobody: "ሕጂ ዝኣተወ ወለንተኛ የለን።",
      nobodyHelp: "ሓደ ሰብ ክሳብ ዝኣቱ ኣብ መስርዕ ክትጽበ ትኽእል ኢኻ፡ ወይ ደሓር ተመለስ።"
    },
    uk: {
      _name: "Українська", _rtl: false, _reviewed: false, language: "Мова",
      fuAsk: "Маєш код з минулого разу?",
      fuHelp: "Введи код, який дав тобі волонтер, щоб знову поговорити з тією самою людиною. Можна пропустити.",
      fuBad: "Код виглядає неправильно. Перевір його або очисти поле.",
      fuUnknown: "Ми не знайшли цей код. Можливо, він написаний з помилкою або застарів. Ти все одно в черзі й поговориш із тим, хто першим звільниться.",
      fuWait: "Чекати на {name}",
      fuOther: "Поговорити з кимось іншим зараз",
      fuLeave: "Піти зараз і повернутися іншим разом",
      fuKeep: "Збережи свій код: {code}",
      fuTitle: "Твій код, щоб знову поговорити з тією самою людиною",
      fuGiven: "Запиши код або збережи його в надійному місці. Ми його за тебе не зберігаємо. Він дійсний {n} днів.",
      topic: "Про що ти хочеш поговорити?", topic_exposed: "Хтось мене кривдить", topic_uses_violence: "Я кривджу когось або боюся, що кривджу", topic_both: "І те, і те", topic_friend_relative: "Я хвилююся за когось", topic_other: "Щось інше",
      draft: "Цей переклад ще не перевірив носій мови.", launcher: "Анонімний чат", title: "Поговори з нами",
      minimize: "Закрити (чат триває)", exit: "Швидко покинути сторінку", exitHint: "або натисни Shift тричі",
      danger: "Ти в безпосередній небезпеці? Телефонуй 112.", loading: "Перевіряємо, чи чат відкритий …",
      open: "Чат зараз відкритий.", closed: "Чат зараз закритий.", opens: "Він знову відкриється {when}.",
      meanwhile: "Тут можна отримати допомогу тим часом:",
      unreachable: "Зараз не вдається з'єднатися з чатом. Спробуй трохи згодом.",
      promiseTitle: "Повна анонімність",
      promise: "Ми ніколи не питаємо, хто ти. Те, що ти пишеш, не зберігається і зникає, коли чат закінчується.",
      kept: "Для статистики зберігається лише один анонімний рядок: твої відповіді нижче, якщо захочеш, тема розмови, день і приблизний час.",
      notKept: "Ніколи не зберігаються імена, номери телефонів, IP-адреси чи файли cookie.",
      intake: "Необов'язкові запитання", intakeHelp: "Можеш пропустити всі.", age: "Скільки тобі років?",
      gender: "Стать", girl: "Дівчина", boy: "Хлопець", nonbinary: "Небінарна особа", where: "Де ти живеш?",
      district: "Район", otherPlace: "Інша комуна", first: "Ти звертаєшся до нас уперше?", yes: "Так", no: "Ні",
      noAnswer: "Не хочу відповідати", start: "Почати чат", history: "Як видалити історію браузера",
      connecting: "З'єднання …", position: "Твій номер у черзі: {n}.",
      wait: "Орієнтовний час очікування: близько {m} хв.",
      waitShort: "Орієнтовний час очікування: менше хвилини.", leaveQueue: "Вийти з черги",
      queueHelp: "Можеш починати писати вже зараз. Волонтер побачить це, коли почнеться чат.",
      talkingTo: "Твій співрозмовник: {name}.", volunteer: "Волонтер", you: "Ти", typing: "{name} пише …",
      write: "Напиши повідомлення", send: "Надіслати", end: "Завершити чат", sent: "Надіслано",
      delivered: "Доставлено", waiting: "Буде надіслано, коли з'єднання відновиться",
      lost: "З'єднання перервалося. Під'єднуємося знову …", back: "З'єднання відновлено.",
      ended: "Чат завершено.", by_visitor: "Чат завершено з твого боку.",
      by_volunteer: "Волонтер завершив чат.", by_timeout: "Чат завершився після довгої тиші.",
      by_supervisor: "Чат завершив супервізор.", again: "Почати новий чат",
      elsewhere: "Чат продовжується в іншому вікні.",
      guard: "Тобі не потрібно казати, хто ти. Номер телефону, e-mail чи персональний номер тут не потрібні.",
      help: "Де отримати підтримку", code: "Твій код",
      codeHelp: "Назви цей код, якщо звернешся до них. Він не показує, хто ти.", copy: "Скопіювати код",
      copied: "Код скопійовано.", call: "Зателефонувати {p}", anonymous: "Можна звернутися анонімно.",
      failed: "Щось пішло не так. Спробуй ще раз.",
      survey: "Хочеш відповісти на три короткі запитання? Це за бажанням і анонімно.", step: "Запитання {n} з 3",
      helped: "Чи допоміг тобі чат?", knows_where_to_turn: "Чи знаєш ти тепер, куди можна звернутися?",
      would_return: "Чи захочеш ти ще поговорити з нами в чаті?", partly: "Частково", unsure: "Не знаю",
      skip: "Пропустити", thanks: "Дякуємо! Твої відповіді допомагають нам ставати кращими.",
      nobody: "Зараз немає жодного волонтера онлайн.",
      nobodyHelp: "Можеш почекати в черзі, поки хтось увійде, або повернутися пізніше."
    }
  };

  var base = new URL(".", script.src);  // SERVER/static/
  var data = script.dataset;
  var EXIT_URL = data.exitUrl || "https://www.smhi.se/";
  var CHANNEL = data.channel || "web";
  var KEY = "jourchatt";
  var GUARD = [/[^\s@]+@[^\s@]+\.[a-z]{2,}/i, /(?:\+|\b)\d(?:[\s-]?\d){7,}/, /\b(?:19|20)?\d{6}[-+]\d{4}\b/];

  var saved = load();
  var offered = Object.keys(TEXTS);  // narrowed to the server's JOURCHATT_LANGUAGES once it answers
  var said = [""];  // the status line as a key and its values, so a language switch says it again
  var lang = pick(saved.l || data.lang || (document.documentElement.lang || "sv").slice(0, 2));
  var T = TEXTS[lang];
  var ws = null, view = "start", token = saved.t || null, lastSeq = 0, seen = {}, pending = {};
  var counter = 0, idPrefix = Math.random().toString(36).slice(2, 8), retry = 0;
  var reconnectIn = -1, hours = null, places = null, volunteerName = "", exited = false, typingSent = 0;
  var typingTimer = 0, theirTyping = 0, shifts = [], answers = null;
  // A follow-up code: the one typed in (for the hello) and what the queue says of its volunteer. Memory only.
  var fuCode = "", fuName = "", fuText = "", fuCanWait = false;

  function load() { try { return JSON.parse(sessionStorage.getItem(KEY) || "{}") || {}; } catch (e) { return {}; } }
  function keep() { try { sessionStorage.setItem(KEY, JSON.stringify({ t: token, l: lang })); } catch (e) { /* private mode */ } }
  function wipe() { token = null; fuCode = ""; try { sessionStorage.removeItem(KEY); } catch (e) { /* nothing kept */ } }
  function pick(l) { return offered.indexOf(l) >= 0 ? l : "sv"; }
  // Right to left, a number, name or time put into a sentence is isolated (FSI…PDI, as <bdi>).
  function fmt(s, v) { return s.replace(/\{(\w+)\}/g, (_, k) => T._rtl ? "\u2068" + v[k] + "\u2069" : v[k]); }
  function ltr(text) { return h("bdi", { dir: "ltr", text: text }); }
  function fmtNodes(s, v) {  // the sentence as text nodes around elements: fmtNodes(T.call, {p: ltr(phone)})
    return s.split(/\{(\w+)\}/).map((part, i) => i % 2 ? v[part] : document.createTextNode(part));
  }
  function loc(v) { return typeof v === "string" ? v : (v && (v[lang] || v.sv || v.en)) || ""; }

  /* h("p.jc-x", {attr}, children...): a small element builder; text is always textContent. */
  function h(spec, attrs) {
    var parts = spec.split("."), el = document.createElement(parts[0]);
    if (parts.length > 1) el.className = parts.slice(1).join(" ");
    if (parts[0] == "button") el.type = "button";
    for (var k in attrs || {}) {
      var v = attrs[k];
      if (k === "t") { el.setAttribute("data-t", v); el.textContent = T[v]; }
      else if (k === "ta") { el.setAttribute("data-ta", v); el.setAttribute("aria-label", T[v]); }
      else if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, "");
      else if (v !== false && v != null) el.setAttribute(k, v);
    }
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) el.append(arguments[i]);
    return el;
  }

  function choices(name, values, prefix) {  // radio buttons, the last one "prefer not to say" (value "")
    var fs = h("fieldset.jc-field", {}, h("legend", { t: name }));
    values.concat("").forEach((v, i) => {
      var id = "jc-" + name + "-" + i;
      fs.appendChild(h("div.jc-choice", {},
        h("input", { type: "radio", name: "jc-" + name, id: id, value: v, checked: !v }),
        h("label", { "for": id, t: v ? (prefix || "") + v : "noAnswer" })));
    });
    return fs;
  }
  function field(el, key) { return h("div.jc-field", {}, h("label", { "for": el.id, t: key }), el); }

  /* the DOM, built once; views are shown and hidden */
  document.head.appendChild(h("link", { rel: "stylesheet", href: new URL("widget.css", base).href }));
  var $ = {};
  $.exit = h("button.jc-exit", { onclick: quickExit },
    h("span", { t: "exit" }), h("span", { t: "exitHint" }));
  $.launcher = h("button.jc-launcher", { "aria-expanded": "false", "aria-controls": "jc-panel", t: "launcher",
    onclick: () => toggle(true) });
  $.title = h("h2.jc-title", { id: "jc-title", tabindex: "-1", t: "title" });
  $.status = h("p.jc-status", { role: "status" });
  $.hoursBox = h("div.jc-hours", {}, h("p", { t: "loading" }));
  $.age = h("select", { id: "jc-age" }, h("option", { value: "", t: "noAnswer" }));
  for (var a = 10; a <= 30; a++) $.age.appendChild(h("option", { value: a, text: a }));
  $.muni = h("select", { id: "jc-muni", onchange: districts }, h("option", { value: "", t: "noAnswer" }));
  $.district = h("select", { id: "jc-district" });
  $.districtField = field($.district, "district");
  $.districtField.hidden = true;
  $.start = h("button.jc-primary", { type: "submit", t: "start" });
  $.fuIn = h("input.jc-code-in", { id: "jc-fu", dir: "ltr", maxlength: "20", autocomplete: "off", spellcheck: "false",
    autocapitalize: "characters", "aria-describedby": "jc-fu-help" });
  $.fuErr = h("p.jc-guard", { role: "alert" });
  $.fuAsk = h("details.jc-fu", {}, h("summary", { t: "fuAsk" }), field($.fuIn, "code"),
    h("p.jc-help", { id: "jc-fu-help", t: "fuHelp" }), $.fuErr);
  /* hidden while closed */
  $.intakeBox = h("div.jc-intake", {},
    h("h3", { t: "promiseTitle" }), h("p", { t: "promise" }), h("p", { t: "kept" }), h("p", { t: "notKept" }),
    h("h3", { t: "intake" }), h("p.jc-help", { t: "intakeHelp" }),
    choices("topic", ["exposed", "uses_violence", "both", "friend_relative", "other"], "topic_"),
    field($.age, "age"),
    choices("gender", ["girl", "boy", "nonbinary"]),
    field($.muni, "where"), $.districtField,
    choices("first", ["yes", "no"]),
    $.fuAsk, $.start);
  $.form = h("form.jc-view", { onsubmit: startChat }, $.hoursBox, $.intakeBox);
  $.queueInfo = h("p.jc-big", { role: "status" });
  /* queued.on_duty false */
  $.nobody = h("div.jc-nobody", { hidden: true }, h("p", { t: "nobodyHelp" }), h("p", { t: "meanwhile" }),
    $.nobodyCards = h("div.jc-cards"));
  $.fu = h("div.jc-fu-box", { role: "status", hidden: true });
  $.queue = h("div.jc-view", { hidden: true },
    $.queueInfo, $.fu, $.nobody, h("p.jc-help", { t: "queueHelp" }),
    h("button.jc-secondary", { onclick: leave, t: "leaveQueue" }));
  $.log = h("ol.jc-log");
  $.logBox = h("div", { role: "log", "aria-labelledby": "jc-title" }, $.log);
  $.typing = h("p.jc-typing", { "aria-live": "polite" });
  $.guard = h("p.jc-guard", { role: "status" });
  $.text = h("textarea", { id: "jc-text", dir: "auto", rows: "3", maxlength: "4000", oninput: onInput, onkeydown: onKey });
  $.composer = h("form.jc-composer", { onsubmit: sendMessage, hidden: true },
    h("label", { "for": "jc-text", t: "write" }), $.text, $.guard,
    h("div.jc-row", {}, h("button.jc-primary", { type: "submit", t: "send" }),
      $.endButton = h("button.jc-secondary", { onclick: leave, t: "end" })));
  $.ended = h("div.jc-view", { hidden: true },
    $.endedText = h("p.jc-big"), $.survey = h("div.jc-survey", { hidden: true }), $.services = h("div.jc-cards"),
    h("button.jc-primary", { onclick: restart, t: "again" }));
  $.panel = h("section.jc-panel", { id: "jc-panel", hidden: true, "aria-labelledby": "jc-title" },
    h("header.jc-head", {}, $.title,
      $.lang = h("select.jc-lang", { id: "jc-lang", ta: "language", onchange: () => setLang($.lang.value) }),
      h("button.jc-close", { onclick: () => toggle(false) },
        h("span.jc-sr", { t: "minimize" }), h("span", { "aria-hidden": "true", text: "×" }))),
    h("div.jc-body", {}, $.draft = h("p.jc-draft", { t: "draft", hidden: !!T._reviewed }), $.status, $.form, $.queue, $.logBox, $.typing, $.ended),
    $.composer,
    h("footer.jc-foot", {}, h("p.jc-danger", { t: "danger" }),
      h("a", { href: new URL("history.html#" + lang, base).href, target: "_blank", rel: "noopener noreferrer",
        id: "jc-history", t: "history" })));
  var root = h("div.jc", { id: "jourchatt", lang: lang, dir: T._rtl ? "rtl" : "ltr" }, $.exit, $.panel, $.launcher);
  langOptions();

  function mount() {
    document.body.appendChild(root);
    document.addEventListener("keydown", onShift, true);
    $.panel.addEventListener("keydown", e => { if (e.key === "Escape") toggle(false); });
    // Against the back-forward cache: wipe again when the page is hidden or shown.
    window.addEventListener("pagehide", () => { if (exited) { blank(); wipe(); } });
    window.addEventListener("pageshow", () => { if (exited) { blank(); wipe(); location.replace(EXIT_URL); } });
    fetchInfo();
    if (token) { toggle(true); show("queue"); connect(); }
  }

  /* quick exit (GOV.UK "Exit this page") */
  function blank() {
    var d = document.documentElement;
    d.style.visibility = "hidden";
    d.style.background = "#fff";
    if (root.parentNode) root.parentNode.removeChild(root);
    $.log.textContent = ""; $.fu.textContent = "";
  }
  function quickExit(e) {
    if (e) e.preventDefault();
    exited = true;
    blank();
    if (ws && ws.readyState === 1) { try { ws.send('{"type":"leave","quick":true}'); ws.close(1000); } catch (x) { /* leaving */ } }
    ws = null;
    wipe();
    location.replace(EXIT_URL);
  }
  function onShift(e) {
    if (e.key !== "Shift") { shifts = []; return; }  // Shift held for a capital does not count
    if (e.repeat) return;
    var now = Date.now();
    shifts = shifts.filter(t => now - t < 5000);
    shifts.push(now);
    if (shifts.length >= 3) quickExit(e);
  }

  /* texts and views */
  function langOptions() {  // each language by its own name, in its own direction
    $.lang.textContent = "";
    offered.forEach(l => $.lang.appendChild(h("option", { value: l, lang: l, dir: TEXTS[l]._rtl ? "rtl" : "ltr",
      text: TEXTS[l]._name })));
    $.lang.value = lang;
    $.lang.hidden = offered.length < 2;
  }
  function setLang(l) {
    var was = lang;
    lang = pick(l); T = TEXTS[lang];
    root.setAttribute("lang", lang);
    root.setAttribute("dir", T._rtl ? "rtl" : "ltr");
    var nodes = root.querySelectorAll("[data-t]");
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = T[nodes[i].getAttribute("data-t")];
    nodes = root.querySelectorAll("[data-ta]");
    for (i = 0; i < nodes.length; i++) nodes[i].setAttribute("aria-label", T[nodes[i].getAttribute("data-ta")]);
    for (var n of root.querySelectorAll("[data-tf]")) n.textContent = fmt(T[n.dataset.tf], n.dataset);  // with values
    $.draft.hidden = !!T._reviewed;
    $.lang.value = lang;
    document.getElementById("jc-history").href = new URL("history.html#" + lang, base).href;
    if (token) keep();
    renderHours(); fillPlaces(); renderQueue(lastQueue); renderTyping(); say(said[0], said[1]);
    if (lang !== was && view === "start") fetchHours();  // the service cards in the new language
  }
  function toggle(open) {
    $.panel.hidden = !open;
    $.launcher.hidden = open;
    $.launcher.setAttribute("aria-expanded", open);
    (open ? $.title : $.launcher).focus();
  }
  function show(name) {
    view = name;
    $.form.hidden = name !== "start";
    $.queue.hidden = name !== "queue";
    $.logBox.hidden = name !== "queue" && name !== "chat" && name !== "ended";
    $.composer.hidden = name !== "queue" && name !== "chat";
    $.endButton.hidden = name !== "chat";
    $.ended.hidden = name !== "ended";
    if (name !== "chat") { theirTyping = 0; renderTyping(); }
    if (root.contains(document.activeElement) && document.activeElement.offsetParent === null) $.title.focus();
  }
  function say(key, v) { said = [key, v]; $.status.textContent = key ? fmt(T[key], v || {}) : ""; }

  /* before the chat: opening hours and places */
  function fetchHours() {
    fetch(new URL("../api/opening-hours?lang=" + lang, base))
      .then(r => r.json())
      .then(j => {
        hours = j;
        if (j.languages) {  // the organisation's choice (JOURCHATT_LANGUAGES), e.g. only reviewed ones
          offered = Object.keys(TEXTS).filter(l => j.languages.indexOf(l) >= 0);
          langOptions();
          if (pick(lang) !== lang && !token) return setLang("sv");
        }
        renderHours();
      })
      .catch(() => { hours = { error: true }; renderHours(); });
  }
  function fetchInfo() {
    fetchHours();
    fetch(new URL("../api/places", base))
      .then(r => r.json())
      .then(j => { places = j; fillPlaces(); })
      .catch(() => { /* the picker stays at "prefer not to say" */ });
  }
  function when(iso) {
    var locale = { sv: "sv-SE", en: "en-GB" }[lang] || lang + "-u-nu-latn";  // digits 0-9 in every language
    return new Intl.DateTimeFormat(locale, {
      weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit",
      timeZone: hours && hours.timezone || undefined
    }).format(new Date(iso));
  }
  function renderHours() {
    var box = $.hoursBox;
    box.textContent = "";
    if (!hours) { box.appendChild(h("p", { t: "loading" })); return; }
    renderNobody();
    $.intakeBox.hidden = false;
    if (hours.error) { box.appendChild(h("p", { t: "unreachable" })); $.start.hidden = false; return; }
    var open = hours.open, no = open && hours.on_duty === false;  // nobody signed in
    box.className = "jc-hours " + (open && !no ? "jc-open" : "jc-shut");
    $.start.hidden = !open;
    if (open && !no) return box.appendChild(h("p.jc-big", { t: "open" }));
    box.appendChild(h("p.jc-big", { t: no ? "nobody" : "closed" }));
    if (no) box.appendChild(h("p", { t: "nobodyHelp" }));
    else if (hours.next_open) box.appendChild(h("p", { text: fmt(T.opens, { when: when(hours.next_open) }) }));
    box.appendChild(h("p", { t: "meanwhile" }));
    box.appendChild(cards(hours.services || []));
    if (no) return;
    $.intakeBox.hidden = true;
    if (root.contains(document.activeElement) && document.activeElement.offsetParent === null) $.title.focus();
  }
  function fill(select, list, extra) {  // "prefer not to say", the places, keeping the choice
    var chosen = select.value;
    select.textContent = "";
    select.appendChild(h("option", { value: "", t: "noAnswer" }));
    list.forEach(p => select.appendChild(h("option", { value: p.code || p.id, text: p.name })));
    if (extra) select.appendChild(h("option", { value: places.other, t: "otherPlace" }));
    select.value = chosen;
    if (select.selectedIndex < 0) select.value = "";
  }
  function fillPlaces() {
    if (places) { fill($.muni, places.municipalities, 1); districts(); }
  }
  function districts() {
    var list = places && places.districts[$.muni.value];
    fill($.district, list || []);
    $.districtField.hidden = !list;
  }
  function picked(name) {
    var el = root.querySelector("input[name=jc-" + name + "]:checked");
    return el && el.value || null;
  }
  function intake() {
    var f = {}, any = false;
    if ($.age.value) { f.age = +$.age.value; any = true; }
    if (picked("gender")) { f.gender = picked("gender"); any = true; }
    if ($.muni.value) { f.municipality = $.muni.value; f.district = $.district.value || null; any = true; }
    if (picked("first")) { f.first_contact = picked("first"); any = true; }
    if (picked("topic")) { f.topic = picked("topic"); any = true; }
    return any ? f : null;
  }

  /* the socket: hello, resume with last_seq, reconnect */
  function startChat(e) {
    e.preventDefault();
    var c = $.fuIn.value.trim();  // checked as the server does (chat/frames.py _FOLLOWUP)
    if (c && !/^[A-Za-z0-9 -]{4,20}$/.test(c)) { $.fuErr.textContent = T.fuBad; $.fuAsk.open = true; $.fuIn.focus(); return; }
    $.fuErr.textContent = ""; $.fuIn.value = ""; fuCode = c; fuBox(null);
    token = null; lastSeq = 0; seen = {}; pending = {}; $.log.textContent = "";
    show("queue"); renderQueue(null); say("connecting");
    answers = intake();
    connect();
  }
  function connect() {
    var url = new URL("../ws/visitor", base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var sock = ws = new WebSocket(url.href);
    sock.onopen = () => {
      var hello = { type: "hello", lang: lang, channel: CHANNEL, resume: token, last_seq: lastSeq };
      if (answers && answers.topic && !token) hello.topic = answers.topic;
      if (fuCode && !token) hello.followup = fuCode;
      send(hello);
      if (answers && !token) send(Object.assign({ type: "intake" }, answers));
    };
    sock.onmessage = m => { if (sock === ws) { var f; try { f = JSON.parse(m.data); } catch (x) { return; } onFrame(f); } };
    sock.onclose = ev => { if (sock === ws) dropped(ev.code); };
  }
  function send(frame) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function dropped(code) {
    ws = null;
    if (exited || (view !== "queue" && view !== "chat")) return;
    if (code === 4409) return over(T.elsewhere);
    say("lost");
    var delay = reconnectIn >= 0 ? reconnectIn : Math.min(8000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
    reconnectIn = -1;
    setTimeout(connect, delay);
  }
  var lastQueue = null;
  function renderQueue(f) {
    lastQueue = f;
    renderNobody();
    if (!f) { $.queueInfo.textContent = T.connecting; return; }
    if (f.on_duty === false) { $.queueInfo.textContent = fmt(T.position, { n: f.position }) + " " + T.nobody; return; }
    var m = Math.ceil(f.estimated_wait_s / 60);
    $.queueInfo.textContent = fmt(T.position, { n: f.position }) + " " + (m < 1 ? T.waitShort : fmt(T.wait, { m: m }));
  }

  function renderNobody() {
    var no = !!lastQueue && lastQueue.on_duty === false;
    $.nobody.hidden = !no;
    $.nobodyCards.textContent = "";
    if (no && hours && hours.services) $.nobodyCards.appendChild(cards(hours.services));
  }

  function onFrame(f) {
    switch (f.type) {
      case "welcome":
        retry = 0;
        if (f.resume_token) { token = f.resume_token; keep(); }
        say(f.resumed ? "back" : "");
        for (var id in pending) if (pending[id].state !== "delivered") post(id);  // resend: same id, same text
        break;
      case "closed": over(f.text || T.closed, f.services); break;
      case "queued": show("queue"); renderQueue(f); break;
      case "assigned":
        volunteerName = f.volunteer || ""; fuBox(null);
        if (view !== "chat") show("chat");
        say(volunteerName ? "talkingTo" : "", { name: volunteerName });
        break;
      case "message": line(f); break;
      case "ack":
        seen[f.seq] = true; lastSeq = Math.max(lastSeq, f.seq);
        var p = pending[f.id];
        if (p) { p.state = "delivered"; place(p.el, f.seq); mark(f.id); }
        break;
      case "typing": theirTyping = f.active ? 1 : 0; renderTyping(); break;
      case "referral": referral(f); break;
      case "followup": given(f); break;
      case "followup_away": fuName = f.volunteer; fuCanWait = f.kept; fuBox(f.text, f.kept ? 1 : 2); break;
      case "followup_kept":  // also after a reload: the name comes with it
        fuName = f.volunteer; fuCanWait = f.kept || (fuCanWait && f.reason === "choice");
        fuBox(f.text, f.kept ? 1 : fuCanWait ? 3 : 0);
        break;
      case "ended": over(T["by_" + f.by] || T.ended); if (f.survey) ask(f.survey); break;
      case "reconnect": reconnectIn = Math.max(0, Math.min(f.after_ms || 0, 5000)); break;
      case "error":
        if (f.code === "resume_failed") { token = null; lastSeq = 0; seen = {}; pending = {}; $.log.textContent = ""; }
        else if (f.code === "chat_ended") { if (view !== "ended") over(T.ended); }
        else if (f.code === "followup_unknown") fuBox(T.fuUnknown, 0);
        else if (f.code === "followup_not_waiting") { fuCanWait = false; fuBox(fuText, 0); }
        else if (f.code !== "replaced") say("failed");
        break;
    }
  }

  function over(text, services) {
    wipe(); show("ended"); $.survey.hidden = true; $.survey.textContent = "";
    $.endedText.textContent = text;
    $.services.textContent = "";
    if (services) $.services.appendChild(cards(services));
  }

  /* the conversation */
  function entry(from, text, seq) {
    var who = from === "visitor" ? T.you : from === "volunteer" ? (volunteerName || T.volunteer) : "";
    var li = h("li.jc-msg.jc-" + from, {}, who && h("span.jc-who", { text: who + ": " }), h("span.jc-text", { dir: "auto", text: text }));
    place(li, seq);
    return li;
  }
  function place(el, seq) {  // in seq order; lines not yet numbered stay last
    var before = null;
    if (seq != null) {
      el.dataset.seq = seq;
      for (var n of $.log.children) if (n !== el && !(+n.dataset.seq <= seq)) { before = n; break; }
    }
    $.log.insertBefore(el, before);
    if (!before) el.scrollIntoView({ block: "nearest" });
  }
  function line(f) {
    if (seen[f.seq]) return;  // a replay overlapping what came live
    seen[f.seq] = true; lastSeq = Math.max(lastSeq, f.seq);
    if (f.from === "volunteer") { theirTyping = 0; renderTyping(); }
    var li = entry(f.from, f.text, f.seq);
    if (f.from === "visitor") li.appendChild(h("span.jc-state", { text: T.delivered }));
  }
  function sendMessage(e) {
    e.preventDefault();
    var text = $.text.value;
    if (!text.trim()) return;
    var id = idPrefix + "-" + (++counter);
    pending[id] = { text: text, el: entry("visitor", text, null) };
    pending[id].el.appendChild(h("span.jc-state"));
    $.text.value = ""; $.guard.textContent = "";
    post(id);
    stopTyping();
    $.text.focus();
  }
  function post(id) {
    pending[id].state = send({ type: "message", id: id, text: pending[id].text }) ? "sent" : "waiting";
    mark(id);
  }
  function mark(id) {
    var p = pending[id];
    p.el.lastChild.textContent = T[p.state];
    p.el.className = "jc-msg jc-visitor jc-" + p.state;
  }
  function onKey(e) { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) sendMessage(e); }
  function onInput() {
    var text = $.text.value;
    $.guard.textContent = GUARD.some(r => r.test(text)) ? T.guard : "";
    if (view !== "chat") return;
    var now = Date.now();
    if (now - typingSent > 3000) { typingSent = now; send({ type: "typing", active: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 4000);
  }
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent) { typingSent = 0; send({ type: "typing", active: false }); }
  }
  function renderTyping() {
    $.typing.textContent = theirTyping ? fmt(T.typing, { name: volunteerName || T.volunteer }) : "";
  }
  function leave() {
    if (!send({ type: "leave" })) over(T.by_visitor);
  }
  function restart() {
    wipe(); fuBox(null); lastSeq = 0; seen = {}; pending = {}; $.log.textContent = ""; $.services.textContent = "";
    $.survey.textContent = ""; $.survey.hidden = true;
    say(""); show("start"); hours = null; renderHours(); fetchInfo();
  }

  /* follow-up codes: the box in the queue (mode 1 kept for the volunteer, 2 they are off, 3 released by
   * choice, 0 text only) and a code the volunteer gave, shown once and kept nowhere */
  function fuBox(text, mode) {
    $.fu.hidden = text == null;
    $.fu.textContent = "";
    if (text == null) return;
    fuText = text;
    var row = h("div.jc-row"), btn = (a, pressed, fn) => row.appendChild(h("button.jc-secondary",
      Object.assign(a, { "aria-pressed": pressed, onclick: fn })));
    var choose = wait => () => send({ type: "followup_choice", wait: wait });
    $.fu.append(h("p", { text: text }), row);
    if (mode & 1) {
      btn({ "data-tf": "fuWait", "data-name": fuName, text: fmt(T.fuWait, { name: fuName }) }, String(mode == 1), choose(true));
      btn({ t: "fuOther" }, String(mode == 3), choose(false));
    }
    if (mode == 2) {
      btn({ t: "fuOther" }, null, choose(false));
      btn({ t: "fuLeave" }, null, leave);
      if (fuCode) $.fu.appendChild(h("p", {}, ...fmtNodes(T.fuKeep, { code: h("bdi.jc-code-value", { dir: "ltr", text: fuCode }) })));
    }
  }
  function given(f) {
    var done = h("span.jc-copied", { role: "status" });
    place(h("li.jc-msg.jc-followup", {}, h("p.jc-big", { t: "fuTitle" }),
      h("p.jc-code-value", { dir: "ltr", text: f.code }), h("p", { "data-tf": "fuGiven", "data-n": f.valid_days, text: fmt(T.fuGiven, { n: f.valid_days }) }),
      h("button.jc-secondary", { t: "copy", onclick: () => copy(f.code, done) }), done), lastSeq + 0.5);
  }

  /* after the chat: three questions, one at a time, skippable; the token is kept in this closure only */
  var QS = [["helped", "yes partly no"], ["knows_where_to_turn", "yes no unsure"], ["would_return", "yes no unsure"]];
  function ask(token) {
    var given = {}, n = 0, box = $.survey;
    function done() {
      if (n) fetch(new URL("../api/survey", base), { method: "POST", credentials: "omit", keepalive: true,
        headers: { "content-type": "application/json" }, body: JSON.stringify({ token: token, answers: given }) })
        .catch(() => { /* lost: one answer fewer in the statistics */ });
      box.textContent = "";
      if (n) box.appendChild(h("p", { role: "status", t: "thanks" })); else box.hidden = true;
    }
    function step() {
      if (n === QS.length) return done();
      var q = QS[n], row = h("div.jc-row", { role: "group", "aria-labelledby": "jc-q" });
      q[1].split(" ").forEach(a => row.appendChild(h("button.jc-secondary", { "data-answer": a, t: a,
        onclick: () => { given[q[0]] = a; n++; step(); } })));
      box.textContent = "";
      box.append(h("p", { t: "survey" }), h("p.jc-help", { text: fmt(T.step, { n: n + 1 }) }),
        h("p.jc-big", { id: "jc-q", t: q[0] }), row, h("button.jc-link", { t: "skip", onclick: done }));
      row.firstChild.focus();
    }
    box.hidden = false;
    step();
  }

  /* service cards (closed, referral) */
  function cards(services) {
    var list = h("ul.jc-cards");
    services.forEach(s => {
      var card = h("li.jc-card", {}, h("h4", { text: s.name || "" }));
      if (s.description) card.appendChild(h("p", { text: loc(s.description) }));
      var hrs = s.opening_hours || s.hours;
      if (hrs) card.appendChild(h("p", { text: loc(hrs) }));
      if (s.anonymous && !says(loc(s.description), T.anonymous)) card.appendChild(h("p", { t: "anonymous" }));
      var c = s.contact || {}, ph = s.phone || c.phone, url = s.url || c.web;
      if (ph) card.appendChild(h("p", {}, h("a", { href: "tel:" + ph.replace(/[^\d+]/g, "") }, ...fmtNodes(T.call, { p: ltr(ph) }))));
      if (url && /^https?:\/\//.test(url)) card.appendChild(h("p", {}, h("a", { href: url, target: "_blank", rel: "noopener noreferrer", dir: "ltr", text: new URL(url).host })));
      if (s.code) {
        var done = h("span.jc-copied", { role: "status" });
        card.appendChild(h("div.jc-code", {}, h("p", { t: "code" }), h("p.jc-code-value", { dir: "ltr", text: s.code }),
          h("p.jc-help", { t: "codeHelp" }),
          h("button.jc-secondary", { t: "copy", onclick: () => copy(s.code, done) }), done));
      }
      list.appendChild(card);
    });
    return list;
  }
  function says(a, b) { return a.toLowerCase().indexOf(b.toLowerCase().slice(0, -1)) >= 0; }
  function referral(f) {
    var li = h("li.jc-msg.jc-referral", {}, h("span.jc-who", { t: "help" }), cards(f.services || []));
    place(li, lastSeq + 0.5);  // after the line it answers
  }
  function copy(code, done) {
    var ok = () => { done.textContent = T.copied; };
    if (navigator.clipboard) navigator.clipboard.writeText(code).then(ok, () => { done.textContent = code; });
    else done.textContent = code;
  }

  window.jourchatt = { exit: quickExit };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
