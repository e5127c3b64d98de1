/* The volunteer console: plain JavaScript, no framework (see docs/protocol.md for the socket).
 *
 * Chat text lives only in this page's DOM and memory: nothing is written to
 * localStorage or sessionStorage except the chosen interface language.
 */
"use strict";

const TEXTS = {
  sv: {
    skip: "Hoppa till chattarna", title: "Jourchatt – konsol", language: "Språk", logout: "Logga ut",
    paused: "Pausad – klicka för att ta emot chattar", available: "Tillgänglig – klicka för att pausa",
    chats: "Chattar", no_chats: "Inga chattar just nu.", overview: "Översikt över passet",
    show_overview: "Visa översikten", edit_snippets: "Redigera standardsvar", add_snippet: "Lägg till standardsvar",
    save_snippets: "Spara standardsvar", snippets_saved: "Standardsvaren är sparade.",
    chat: "Chatt", observing: "Observerar", joined: "Anslutit öppet", visitor_here: "Den unga är ansluten",
    visitor_away: "Den unga är borta", observed_by: "Handledare observerar:", intake: "Svar från den unga",
    age: "Ålder", gender: "Kön", municipality: "Kommun", district: "Stadsdel", first_contact: "Första kontakt",
    not_answered: "–", log: "Chattlogg", typing: "Skriver…", message: "Meddelande", send: "Skicka",
    whisper: "Viska till volontären", whisper_send: "Viska", snippet: "Standardsvar", insert: "Infoga",
    no_snippets: "Inga standardsvar", end: "Avsluta chatten", end_confirm: "Avsluta chatten nu?",
    help: "Be handledare om hjälp", acute: "Akut fara", escalated_help: "Handledaren har fått din begäran om hjälp.",
    escalated_acute: "Handledaren har larmats om akut fara.",
    transfer: "Flytta till kö", transfer_sv: "svensk kö", transfer_en: "engelsk kö", transferred: "Chatten har flyttats.",
    suggestions: "Hänvisningsförslag", refer: "Hänvisa", referred: "Hänvisningen skickas…", referral_sent: "Hänvisning skickad:",
    no_directory: "Hänvisningskatalogen är inte tillgänglig på den här servern.",
    no_suggestions: "Inga förslag för de här svaren.", loading: "Hämtar…",
    wrapup: "Efterarbete (måste fyllas i innan nästa chatt)", topic: "Ämne", violence: "Former av våld",
    non_data: "Inte ett riktigt samtal", none: "Nej", corrections: "Rättelser av svaren", keep: "Behåll",
    file_wrapup: "Spara efterarbetet", wrapup_topic_needed: "Välj ett ämne, eller markera att det inte var ett riktigt samtal.",
    ended_by: "Chatten är avslutad", you: "Du", visitor: "Den unga", volunteer: "Volontär", supervisor: "Handledare",
    system: "System", delivered: "levererat", sending: "skickas…",
    conn_lost: "Anslutningen bröts. Försöker ansluta igen…", conn_back: "Anslutningen är tillbaka.",
    replaced: "Konsolen öppnades i ett annat fönster. Den här är stängd.",
    not_allowed: "Ditt konto får inte ta chattar (utbildningen saknas eller har gått ut).",
    new_chat: "Ny chatt", released_takeover: "En handledare tog över chatten.",
    released_transfer: "Chatten flyttades.", stop_observing: "Sluta observera", join: "Anslut öppet",
    takeover: "Ta över", block: "Blockera", block_confirm: "Blockera den unga och avsluta chatten?",
    blocked: "Den unga är blockerad och chatten avslutad.", hours: "timmar",
    queue: "Kö", waiting: "väntar", longest: "längst väntan", volunteers: "Volontärer", alerts: "Larm",
    no_alerts: "Inga larm.", dismiss: "Klar", state: "Läge", load: "Belastning", since: "Tid", lang: "Språk",
    flags: "Flaggor", actions: "Åtgärder", name: "Namn", chats_active: "Pågående chattar",
    state_active: "pågår", state_queued: "i kö", state_wrapup: "efterarbete", state_available: "tillgänglig",
    state_paused: "pausad", state_away: "borta", kind_help: "behöver hjälp", kind_acute: "AKUT FARA",
    error: "Något gick fel:", title_new: "Ny chatt!", snippet_title: "Rubrik", snippet_text: "Text", remove: "Ta bort",
    give_followup: "Ge uppföljningskod", followup_given: "Den unga har fått en uppföljningskod (giltig i {n} dagar).",
    followup_returned: "Den unga har kommit tillbaka med din uppföljningskod.",
    error_unknown_chat: "Chatten finns inte längre hos dig.", error_chat_ended: "Chatten är avslutad – fyll i efterarbetet.",
    error_transfer_refused: "Det gick inte att flytta chatten: volontären är inte ansluten, pausad eller full.",
    error_supervisor_only: "Det kräver rollen handledare.", error_unavailable: "Tjänsten är tillfälligt otillgänglig – försök igen.",
    error_out_of_order: "Det går inte just nu (avsluta chatten först, eller chatten har ingen volontär än).",
    load_label: "chattar", observe: "Observera", by_visitor: "av den unga", by_volunteer: "av dig",
    by_timeout: "tidsgräns", by_supervisor: "av handledare", flag_observed: "observeras", flag_joined: "handledare ansluten",
    flag_visitor_away: "den unga borta", flag_help: "behöver hjälp", flag_acute: "AKUT FARA",
    hours_title: "Öppettider", edit_hours: "Redigera öppettider", hours_weekly: "Veckoschema", hours_day: "Dag",
    hours_open_col: "Öppet", interval: "tid", add_interval: "Lägg till tid", hours_closed: "Stängt",
    hours_exceptions: "Undantag (datum)", exception: "Undantag", add_exception: "Lägg till undantag",
    remove_exception: "Ta bort undantaget", ex_date: "Datum", ex_label: "Benämning (valfri)",
    ex_closed: "stängt hela dagen", save_hours: "Spara öppettiderna", clear_hours: "Ta bort schemat (alltid öppet)",
    clear_hours_confirm: "Ta bort schemat? Chatten blir då alltid öppen.", hours_saved: "Öppettiderna är sparade.",
    hours_cleared: "Schemat är borttaget: chatten är alltid öppen.", hours_not_saved: "Öppettiderna sparades inte. Fel i",
    hours_format: "Skriv tider som 18:00–22:00. En tid som slutar efter midnatt (20:00–02:00) hör till dagen den börjar. En dag utan tider är stängd.",
    hours_always: "Inget schema: chatten är alltid öppen.", hours_open_now: "Chatten är öppen nu.",
    hours_closed_now: "Chatten är stängd nu.", hours_next: "Öppnar nästa gång:", hours_no_next: "Ingen öppning är planerad.",
    hours_today: "I dag:", hours_unknown: "Öppettiderna kunde inte hämtas.", hours_saving: "Sparar…",
    hours_all_closed_confirm: "Veckoschemat har inga tider: chatten blir stängd alla dagar utom undantagen. Spara ändå?",
    hours_need_time: "ange minst en tid, eller kryssa i ”stängt hela dagen”",
    day_mon: "måndag", day_tue: "tisdag", day_wed: "onsdag", day_thu: "torsdag", day_fri: "fredag",
    day_sat: "lördag", day_sun: "söndag",
  },
  en: {
    skip: "Skip to the chats", title: "Jourchatt – console", language: "Language", logout: "Sign out",
    paused: "Paused – click to take chats", available: "Available – click to pause",
    chats: "Chats", no_chats: "No chats right now.", overview: "Shift overview",
    show_overview: "Show the overview", edit_snippets: "Edit canned replies", add_snippet: "Add a canned reply",
    save_snippets: "Save canned replies", snippets_saved: "The canned replies are saved.",
    chat: "Chat", observing: "Observing", joined: "Joined openly", visitor_here: "The young person is connected",
    visitor_away: "The young person is away", observed_by: "Supervisor observing:", intake: "The young person's answers",
    age: "Age", gender: "Gender", municipality: "Municipality", district: "District", first_contact: "First contact",
    not_answered: "–", log: "Chat log", typing: "Typing…", message: "Message", send: "Send",
    whisper: "Whisper to the volunteer", whisper_send: "Whisper", snippet: "Canned reply", insert: "Insert",
    no_snippets: "No canned replies", end: "End the chat", end_confirm: "End the chat now?",
    help: "Ask a supervisor for help", acute: "Acute danger", escalated_help: "Your supervisor got your request for help.",
    escalated_acute: "Your supervisor has been alerted to acute danger.",
    transfer: "Move to queue", transfer_sv: "Swedish queue", transfer_en: "English queue", transferred: "The chat was moved.",
    suggestions: "Referral suggestions", refer: "Refer", referred: "Sending the referral…", referral_sent: "Referral sent:",
    no_directory: "The referral directory is not available on this server.",
    no_suggestions: "No suggestions for these answers.", loading: "Loading…",
    wrapup: "Wrap-up (file it before the next chat)", topic: "Topic", violence: "Forms of violence",
    non_data: "Not a real conversation", none: "No", corrections: "Corrections of the answers", keep: "Keep",
    file_wrapup: "File the wrap-up", wrapup_topic_needed: "Choose a topic, or mark it as not a real conversation.",
    ended_by: "The chat has ended", you: "You", visitor: "Young person", volunteer: "Volunteer", supervisor: "Supervisor",
    system: "System", delivered: "delivered", sending: "sending…",
    conn_lost: "The connection dropped. Reconnecting…", conn_back: "The connection is back.",
    replaced: "The console was opened in another window. This one is closed.",
    not_allowed: "Your account may not take chats (training missing or expired).",
    new_chat: "New chat", released_takeover: "A supervisor took over the chat.",
    released_transfer: "The chat was moved.", stop_observing: "Stop observing", join: "Join openly",
    takeover: "Take over", block: "Block", block_confirm: "Block the young person and end the chat?",
    blocked: "The young person is blocked and the chat ended.", hours: "hours",
    queue: "Queue", waiting: "waiting", longest: "longest wait", volunteers: "Volunteers", alerts: "Alerts",
    no_alerts: "No alerts.", dismiss: "Done", state: "State", load: "Load", since: "Time", lang: "Language",
    flags: "Flags", actions: "Actions", name: "Name", chats_active: "Chats",
    state_active: "active", state_queued: "queued", state_wrapup: "wrap-up", state_available: "available",
    state_paused: "paused", state_away: "away", kind_help: "needs help", kind_acute: "ACUTE DANGER",
    error: "Something went wrong:", title_new: "New chat!", snippet_title: "Title", snippet_text: "Text", remove: "Remove",
    give_followup: "Give a follow-up code", followup_given: "The young person got a follow-up code (valid for {n} days).",
    followup_returned: "The young person came back with your follow-up code.",
    error_unknown_chat: "That chat is no longer yours.", error_chat_ended: "The chat has ended – file the wrap-up.",
    error_transfer_refused: "The chat could not be moved: that volunteer is not connected, paused or full.",
    error_supervisor_only: "That needs the supervisor role.", error_unavailable: "The service is briefly unavailable – try again.",
    error_out_of_order: "Not possible right now (end the chat first, or the chat has no volunteer yet).",
    load_label: "chats", observe: "Observe", by_visitor: "by the young person", by_volunteer: "by you",
    by_timeout: "timed out", by_supervisor: "by a supervisor", flag_observed: "observed", flag_joined: "supervisor joined",
    flag_visitor_away: "young person away", flag_help: "needs help", flag_acute: "ACUTE DANGER",
    hours_title: "Opening hours", edit_hours: "Edit the opening hours", hours_weekly: "Weekly schedule", hours_day: "Day",
    hours_open_col: "Open", interval: "time", add_interval: "Add a time", hours_closed: "Closed",
    hours_exceptions: "Exceptions (dates)", exception: "Exception", add_exception: "Add an exception",
    remove_exception: "Remove the exception", ex_date: "Date", ex_label: "Name (optional)",
    ex_closed: "closed all day", save_hours: "Save the opening hours", clear_hours: "Remove the schedule (always open)",
    clear_hours_confirm: "Remove the schedule? The chat will then always be open.", hours_saved: "The opening hours are saved.",
    hours_cleared: "The schedule is removed: the chat is always open.", hours_not_saved: "The opening hours were not saved. Error in",
    hours_format: "Write times as 18:00–22:00. A time that ends after midnight (20:00–02:00) belongs to the day it starts on. A day without times is closed.",
    hours_always: "No schedule: the chat is always open.", hours_open_now: "The chat is open now.",
    hours_closed_now: "The chat is closed now.", hours_next: "Opens next:", hours_no_next: "No opening is planned.",
    hours_today: "Today:", hours_unknown: "The opening hours could not be loaded.", hours_saving: "Saving…",
    hours_all_closed_confirm: "The weekly schedule has no times: the chat will be closed every day except the exceptions. Save anyway?",
    hours_need_time: "give at least one time, or tick “closed all day”",
    day_mon: "Monday", day_tue: "Tuesday", day_wed: "Wednesday", day_thu: "Thursday", day_fri: "Friday",
    day_sat: "Saturday", day_sun: "Sunday",
  },
};
const VOCAB = {
  gender: { girl: ["tjej", "girl"], boy: ["kille", "boy"], nonbinary: ["icke-binär", "non-binary"],
    not_stated: ["vill inte svara", "prefers not to say"] },
  topic: { exposed: ["utsatt", "exposed"], uses_violence: ["utövar våld", "uses violence"], both: ["båda", "both"],
    friend_relative: ["vän/anhörig", "friend/relative"], professional: ["yrkesperson", "professional"],
    other: ["annat", "other"] },
  violence: { physical: ["fysiskt", "physical"], psychological: ["psykiskt", "psychological"],
    sexual: ["sexuellt", "sexual"], digital: ["digitalt", "digital"], economic: ["ekonomiskt", "economic"],
    honour: ["hedersrelaterat", "honour-related"] },
  non_data: { test: ["test", "test"], silent: ["tyst", "silent"], prank: ["busringning", "prank"],
    abusive: ["kränkande", "abusive"] },
  first_contact: { yes: ["ja", "yes"], no: ["nej", "no"], not_stated: ["vill inte svara", "prefers not to say"] },
};
const MUNICIPALITIES = {
  "0114": "Upplands Väsby", "0115": "Vallentuna", "0117": "Österåker", "0120": "Värmdö", "0123": "Järfälla",
  "0125": "Ekerö", "0126": "Huddinge", "0127": "Botkyrka", "0128": "Salem", "0136": "Haninge", "0138": "Tyresö",
  "0139": "Upplands-Bro", "0140": "Nykvarn", "0160": "Täby", "0162": "Danderyd", "0163": "Sollentuna",
  "0180": "Stockholm", "0181": "Södertälje", "0182": "Nacka", "0183": "Sundbyberg", "0184": "Solna",
  "0186": "Lidingö", "0187": "Vaxholm", "0188": "Norrtälje", "0191": "Sigtuna", "0192": "Nynäshamn",
  other: "annan / other",
};
const DISTRICTS = {
  "0180": { bromma: "Bromma", "enskede-arsta-vantor": "Enskede-Årsta-Vantör", farsta: "Farsta",
    "hagersten-alvsjo": "Hägersten-Älvsjö", "hasselby-vallingby": "Hässelby-Vällingby", kungsholmen: "Kungsholmen",
    norrmalm: "Norrmalm", "rinkeby-kista": "Rinkeby-Kista", skarpnack: "Skarpnäck", skarholmen: "Skärholmen",
    "spanga-tensta": "Spånga-Tensta", sodermalm: "Södermalm", ostermalm: "Östermalm" },
};

let lang = localStorage.getItem("jourchatt.console.lang") === "en" ? "en" : "sv";
const S = {
  me: null, ws: null, everConnected: false, lost: false, backoff: 500, stop: false, status: "paused",
  capacity: 1, chats: new Map(), snippets: [], supervising: false, nextId: 1, counter: 0, unseen: 0,
  audio: null,
};

function t(key) { return (TEXTS[lang] && TEXTS[lang][key]) || TEXTS.sv[key] || key; }
function word(vocab, value) {
  const entry = VOCAB[vocab] && VOCAB[vocab][value];
  return entry ? entry[lang === "en" ? 1 : 0] : String(value);
}
function $(id) { return document.getElementById(id); }
// To the login page, once: a logout also closes the socket (4401, signed_out), and a
// second assignment of location.href would abort the navigation already under way.
function toLogin() {
  if (S.leaving) return;
  S.leaving = true;
  location.href = "/login";
}

/* el("button", {t: "send", class: "primary", onclick: fn}, child...) ; t/ta keep the text translatable */
function el(tag, props, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "t") { node.dataset.t = v; node.textContent = t(v); }
    else if (k === "ta") { node.dataset.ta = v; node.setAttribute("aria-label", t(v)); }
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}
function applyLang() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach((n) => { n.textContent = t(n.dataset.t); });
  document.querySelectorAll("[data-ta]").forEach((n) => { n.setAttribute("aria-label", t(n.dataset.ta)); });
  renderStatus();
  document.title = t("title");
  if (H.rendered) { renderHours(readHours()); renderHoursNow(); }   // labels made of several words
}

function notice(text) {
  const n = $("notice");
  n.textContent = text;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { n.textContent = ""; }, 8000);
}
function banner(text, ok) {
  const b = $("banner");
  b.textContent = text;
  b.className = ok ? "banner ok" : "banner";
  b.hidden = false;
  clearTimeout(banner.timer);
  if (ok) banner.timer = setTimeout(() => { b.hidden = true; }, 4000);
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET") init.headers["X-Jourchatt-CSRF"] = "1";
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  return fetch(path, init);
}

/* -- sound and title notice ------------------------------------------------------------ */
function unlockAudio() {
  if (S.audio || !window.AudioContext) return;
  try { S.audio = new AudioContext(); } catch (e) { S.audio = null; }
}
function beep() {
  if (!S.audio) return;
  try {
    const osc = S.audio.createOscillator(), gain = S.audio.createGain();
    osc.frequency.value = 740; gain.gain.value = 0.08;
    osc.connect(gain); gain.connect(S.audio.destination);
    osc.start(); osc.stop(S.audio.currentTime + 0.18);
  } catch (e) { /* no sound is not an error */ }
}
function arrived() {
  beep();
  if (document.hidden || !document.hasFocus()) {
    S.unseen += 1;
    document.title = `(${S.unseen}) ${t("title_new")} – ${t("title")}`;
  }
  notice(t("new_chat"));
}
function seen() { S.unseen = 0; document.title = t("title"); }

/* -- the socket ------------------------------------------------------------------------ */
function send(frame) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) { S.ws.send(JSON.stringify(frame)); return true; }
  notice(t("conn_lost"));
  return false;
}
function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/volunteer`);
  S.ws = ws;
  ws.addEventListener("open", () => {
    S.backoff = 500;
    if (S.lost) banner(t("conn_back"), true);
    S.lost = false;
  });
  ws.addEventListener("message", (ev) => {
    let frame;
    try { frame = JSON.parse(ev.data); } catch (e) { return; }
    const handler = HANDLERS[frame.type];
    if (handler) handler(frame);
  });
  ws.addEventListener("close", (ev) => {
    if (S.ws !== ws) return;
    S.ws = null;
    $("status").disabled = true;
    if (ev.code === 4401) { toLogin(); return; }
    if (ev.code === 4403) { banner(t("not_allowed")); return; }
    if (ev.code === 4409) { banner(t("replaced")); return; }
    if (S.stop) return;
    S.lost = true;
    banner(t("conn_lost"));
    const wait = S.reconnectAfter !== undefined ? S.reconnectAfter : S.backoff * (0.8 + Math.random() * 0.4);
    S.reconnectAfter = undefined;
    S.backoff = Math.min(S.backoff * 2, 10000);
    setTimeout(connect, wait);
  });
}

/* -- header ---------------------------------------------------------------------------- */
function renderStatus() {
  const b = $("status");
  b.setAttribute("aria-pressed", S.status === "available" ? "true" : "false");
  b.dataset.t = S.status === "available" ? "available" : "paused";
  b.textContent = t(b.dataset.t);
  const own = [...S.chats.values()].filter((c) => c.mode === "own").length;
  $("load").textContent = `${own}/${S.capacity} ${t("load_label")}`;
  $("empty").hidden = S.chats.size > 0;
}

/* -- chat panels ----------------------------------------------------------------------- */
function intakeList(intake) {
  const dl = el("dl", { class: "intake" });
  const rows = [
    ["age", intake.age],
    ["gender", intake.gender ? word("gender", intake.gender) : null],
    ["municipality", intake.municipality ? (MUNICIPALITIES[intake.municipality] || intake.municipality) : null],
    ["district", intake.district && DISTRICTS[intake.municipality] ? DISTRICTS[intake.municipality][intake.district] : null],
    ["first_contact", intake.first_contact ? word("first_contact", intake.first_contact) : null],
  ];
  for (const [key, value] of rows) {
    dl.append(el("dt", { t: key }), el("dd", { text: value === null || value === undefined ? t("not_answered") : String(value) }));
  }
  return dl;
}

function chatPanel(id, mode) {
  let chat = S.chats.get(id);
  if (chat) { chat.mode = mode; return chat; }
  S.counter += 1;
  chat = { id, mode, seqs: new Set(), pending: new Map(), ended: false, intake: {}, n: S.counter, observers: [] };
  const headingId = `chat-h-${S.counter}`;
  chat.panel = el("article", { class: mode === "own" ? "chat" : "chat observe", "aria-labelledby": headingId });
  chat.heading = el("h3", { id: headingId });
  chat.presence = el("span", { class: "tag" });
  chat.watchTag = el("span", { class: "tag watch", hidden: true });
  chat.intakeBox = el("div");
  chat.log = el("ol", { class: "log", role: "log", "aria-live": "polite", ta: "log", tabindex: "0" });
  chat.typing = el("p", { class: "typing", "aria-live": "polite" });
  chat.status = el("p", { role: "status" });
  chat.tools = el("div", { class: "tools" });
  chat.panel.append(chat.heading, chat.presence, chat.watchTag, chat.intakeBox, chat.log, chat.typing,
    chat.status, chat.tools);
  $("chats").append(chat.panel);
  S.chats.set(id, chat);
  renderHeading(chat);
  renderTools(chat);
  renderStatus();
  return chat;
}

function renderHeading(chat) {
  chat.heading.replaceChildren(...[el("span", { text: `${t("chat")} ${chat.n}` }),
    el("span", { class: "tag", text: (chat.lang || "sv").toUpperCase() }),
    chat.mode === "observe" ? el("span", { class: "tag watch", t: "observing" }) : null,
    chat.mode === "joined" ? el("span", { class: "tag watch", t: "joined" }) : null,
    chat.volunteer && chat.mode !== "own" ? el("span", { class: "tag", text: chat.volunteer }) : null].filter(Boolean));
}
function setPresence(chat, visitor) {
  chat.presence.dataset.t = visitor === "away" ? "visitor_away" : "visitor_here";
  chat.presence.textContent = t(chat.presence.dataset.t);
  chat.presence.className = visitor === "away" ? "tag away" : "tag";
}
function setIntake(chat, intake) {
  chat.intake = intake || {};
  chat.intakeBox.replaceChildren(el("h4", { class: "visually-hidden", t: "intake" }), intakeList(chat.intake));
  if (chat.mode === "own") loadSuggestions(chat);
}

function addLine(chat, frame) {
  if (frame.seq !== undefined) {
    if (chat.seqs.has(frame.seq)) return;
    chat.seqs.add(frame.seq);
  }
  let who = frame.from;
  if (frame.from === "volunteer" && chat.mode === "own") who = "you";
  const label = frame.name ? `${t(who === "whisper" ? "supervisor" : who)} ${frame.name}` : t(who === "whisper" ? "supervisor" : who);
  const li = el("li", { class: frame.from }, el("span", { class: "who", text: label }), el("span", { text: frame.text }));
  if (frame.seq !== undefined) li.dataset.seq = frame.seq;
  insertBySeq(chat, li, frame.seq);
  if (frame.from !== "volunteer") chat.typing.textContent = "";
}
function insertBySeq(chat, li, seq) {
  const atBottom = chat.log.scrollHeight - chat.log.scrollTop - chat.log.clientHeight < 40;
  let before = null;
  if (seq !== undefined) {
    for (const other of chat.log.children) {
      if (other.dataset.seq && Number(other.dataset.seq) > seq) { before = other; break; }
    }
  }
  chat.log.insertBefore(li, before);
  if (atBottom || before === null) chat.log.scrollTop = chat.log.scrollHeight;
}

function composer(chat, whisper) {
  const area = el("textarea", { ta: whisper ? "whisper" : "message", maxlength: "4000", rows: "3" });
  const submit = () => {
    const text = area.value;
    if (!text.trim() || chat.ended) return;
    const id = S.nextId++;
    const frame = { type: whisper ? "whisper" : "message", chat: chat.id, id, text };
    if (!send(frame)) return;
    const li = el("li", { class: whisper ? "whisper pending" : "volunteer pending" },
      el("span", { class: "who", text: `${t(whisper ? "whisper_send" : "you")} · ${t("sending")}` }), el("span", { text }));
    chat.pending.set(id, li);
    insertBySeq(chat, li);
    area.value = "";
    if (!whisper) { send({ type: "typing", chat: chat.id, active: false }); chat.typingSent = false; }
  };
  area.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
  });
  if (!whisper) {
    area.addEventListener("input", () => {
      const active = area.value.length > 0;
      if (active !== !!chat.typingSent) { chat.typingSent = active; send({ type: "typing", chat: chat.id, active }); }
      clearTimeout(chat.typingTimer);
      if (active) chat.typingTimer = setTimeout(() => {
        chat.typingSent = false; send({ type: "typing", chat: chat.id, active: false });
      }, 5000);
    });
  }
  chat.input = area;
  const box = el("div", { class: "compose" }, area,
    el("div", { class: "row" }, el("button", { type: "button", class: "primary", t: whisper ? "whisper_send" : "send", onclick: submit })));
  if (!whisper) box.append(snippetPicker(chat));
  return box;
}

function snippetPicker(chat) {
  const select = el("select", { ta: "snippet" });
  const fill = () => {
    select.replaceChildren();
    const list = S.snippets.filter((s) => s.lang === (chat.lang || "sv"));
    if (!list.length) select.append(el("option", { value: "", t: "no_snippets" }));
    list.forEach((s, i) => select.append(el("option", { value: String(i), text: s.title })));
    select.disabled = !list.length;
    chat.snippetList = list;
  };
  chat.fillSnippets = fill;
  fill();
  const insert = () => {
    const s = chat.snippetList && chat.snippetList[Number(select.value)];
    if (!s || !chat.input) return;
    const a = chat.input, pos = a.selectionStart || a.value.length;
    a.value = a.value.slice(0, pos) + s.text + a.value.slice(a.selectionEnd || pos);
    a.focus();
    a.dispatchEvent(new Event("input"));
  };
  return el("div", { class: "row" }, el("label", {}, el("span", { t: "snippet" }), " ", select),
    el("button", { type: "button", t: "insert", onclick: insert }));
}

function renderTools(chat) {
  const tools = [];
  if (chat.ended) { chat.tools.replaceChildren(); return; }
  if (chat.mode === "own") {
    tools.push(composer(chat, false));
    chat.suggest = el("section", { class: "suggest" }, el("h4", { t: "suggestions" }), el("div"));
    tools.push(chat.suggest);
    const queueSel = el("select", { ta: "transfer" }, el("option", { value: "sv", t: "transfer_sv" }),
      el("option", { value: "en", t: "transfer_en" }));
    tools.push(el("div", { class: "row" },
      el("button", { type: "button", t: "give_followup", onclick: () => send({ type: "followup", chat: chat.id }) }),
      el("button", { type: "button", t: "help", onclick: () => send({ type: "escalate", chat: chat.id, kind: "help" }) }),
      el("button", { type: "button", class: "danger", t: "acute", onclick: () => send({ type: "escalate", chat: chat.id, kind: "acute" }) }),
      queueSel,
      el("button", { type: "button", t: "transfer", onclick: () => send({ type: "transfer", chat: chat.id, to: { queue: queueSel.value } }) }),
      el("button", { type: "button", class: "danger", t: "end", onclick: () => {
        if (window.confirm(t("end_confirm"))) send({ type: "end", chat: chat.id });
      } })));
  } else {
    if (chat.mode === "joined") tools.push(composer(chat, false));
    else tools.push(composer(chat, true));
    tools.push(el("div", { class: "row" },
      chat.mode === "observe" ? el("button", { type: "button", t: "join", onclick: () => send({ type: "join", chat: chat.id }) }) : null,
      el("button", { type: "button", t: "takeover", onclick: () => send({ type: "takeover", chat: chat.id }) }),
      el("button", { type: "button", t: "stop_observing", onclick: () => send({ type: "observe", chat: chat.id, active: false }) })));
  }
  chat.tools.replaceChildren(...tools);
  if (chat.mode === "own") loadSuggestions(chat);
}

async function loadSuggestions(chat) {
  if (!chat.suggest || chat.ended) return;
  const body = chat.suggest.lastChild;
  body.replaceChildren(el("p", { t: "loading" }));
  const q = new URLSearchParams();
  const i = chat.intake || {};
  if (i.age) q.set("age", i.age);
  if (i.municipality) q.set("municipality", i.municipality);
  if (i.district) q.set("district", i.district);
  q.set("language", chat.lang || "sv");
  q.set("lang", lang);
  if (chat.acute) q.set("acute", "true");
  const asked = (chat.asked = (chat.asked || 0) + 1);     // a newer intake outdates this answer
  let r;
  try { r = await fetch(`/api/referrals/suggest?${q}`, { credentials: "same-origin" }); } catch (e) { r = null; }
  if (asked !== chat.asked) return;
  if (!r || r.status === 404 || !r.ok) { body.replaceChildren(el("p", { t: "no_directory" })); return; }
  let data;
  try { data = await r.json(); } catch (e) { body.replaceChildren(el("p", { t: "no_directory" })); return; }
  if (asked !== chat.asked) return;
  const services = Array.isArray(data.services) ? data.services : [];
  if (!services.length) { body.replaceChildren(el("p", { t: "no_suggestions" })); return; }
  const ul = el("ul");
  S.serviceNames = S.serviceNames || {};
  for (const s of services.slice(0, 8)) {
    S.serviceNames[s.id] = s.name;
    ul.append(el("li", {}, el("strong", { text: String(s.name || s.id) }), " ",
      s.reason ? el("span", { text: `(${typeof s.reason === "string" ? s.reason : JSON.stringify(s.reason)})` }) : null, " ",
      el("button", { type: "button", t: "refer", onclick: () => {
        if (send({ type: "refer", chat: chat.id, services: [String(s.id)] })) chat.status.textContent = t("referred");
      } })));
  }
  body.replaceChildren(ul);
}

function radioGroup(name, vocab, type) {
  const fs = el("fieldset", {}, el("legend", { t: name }));
  for (const value of Object.keys(VOCAB[vocab])) {
    fs.append(el("label", {}, el("input", { type, name, value }), el("span", { text: word(vocab, value) })));
  }
  return fs;
}
function selectOf(name, options, keepLabel) {
  const select = el("select", { name });
  select.append(el("option", { value: "", text: keepLabel }));
  for (const [value, label] of options) select.append(el("option", { value, text: label }));
  return el("label", {}, el("span", { t: name }), " ", select);
}

function wrapupForm(chat) {
  const form = el("form", { class: "wrapup", novalidate: true });
  const nd = el("select", { name: "non_data" }, el("option", { value: "", t: "none" }));
  for (const v of Object.keys(VOCAB.non_data)) nd.append(el("option", { value: v, text: word("non_data", v) }));
  const ages = [];
  for (let a = 8; a <= 30; a += 1) ages.push([String(a), String(a)]);
  const districts = Object.entries(DISTRICTS["0180"]);
  const corr = el("fieldset", {}, el("legend", { t: "corrections" }),
    selectOf("age", ages, t("keep")),
    selectOf("gender", Object.keys(VOCAB.gender).map((g) => [g, word("gender", g)]), t("keep")),
    selectOf("municipality", Object.entries(MUNICIPALITIES), t("keep")),
    selectOf("district", districts, t("keep")),
    selectOf("first_contact", Object.keys(VOCAB.first_contact).map((g) => [g, word("first_contact", g)]), t("keep")));
  const error = el("p", { role: "alert", class: "acute", hidden: true });
  form.append(el("h4", { t: "wrapup" }), radioGroup("topic", "topic", "radio"), radioGroup("violence", "violence", "checkbox"),
    el("label", {}, el("span", { t: "non_data" }), " ", nd), corr, error,
    el("button", { type: "submit", class: "primary", t: "file_wrapup" }));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const report = { topic: data.get("topic") || null, violence: data.getAll("violence"),
      non_data: data.get("non_data") || null };
    if (!report.topic && !report.non_data) { error.textContent = t("wrapup_topic_needed"); error.hidden = false; return; }
    for (const k of ["gender", "municipality", "first_contact"]) if (data.get(k)) report[k] = data.get(k);
    if (data.get("age")) report.age = Number(data.get("age"));
    if (data.get("district")) { report.district = data.get("district"); report.municipality = "0180"; }
    send({ type: "wrapup", chat: chat.id, report });
  });
  return form;
}

function endChat(chat, by, wrapupDue) {
  chat.ended = true;
  chat.typing.textContent = "";
  chat.tools.replaceChildren();
  chat.status.textContent = `${t("ended_by")}${by ? ` (${t(`by_${by}`)})` : ""}.`;
  if (chat.mode === "own" && wrapupDue) {
    const form = wrapupForm(chat);
    chat.tools.append(form);
    const first = form.querySelector("input");
    if (first) first.focus();
  } else {
    setTimeout(() => removeChat(chat.id), 4000);
  }
  renderStatus();
}
function removeChat(id) {
  const chat = S.chats.get(id);
  if (!chat) return;
  chat.panel.remove();
  S.chats.delete(id);
  renderStatus();
}

/* -- frames from the server ------------------------------------------------------------ */
const HANDLERS = {
  welcome(f) {
    S.everConnected = true;
    S.status = f.state; S.capacity = f.capacity;
    $("me").textContent = f.display_name;
    $("status").disabled = false;
    renderStatus();
    if (S.supervising) send({ type: "supervise", active: true });
    for (const chat of S.chats.values()) {
      if (chat.mode !== "own" && !chat.ended) send({ type: "observe", chat: chat.id, active: true });
    }
  },
  status(f) { S.status = f.state; renderStatus(); },
  assigned(f) {
    const fresh = !S.chats.has(f.chat);
    const chat = chatPanel(f.chat, "own");
    if (chat.mode !== "own" || chat.ended) { chat.ended = false; }
    chat.mode = "own"; chat.lang = f.lang;
    chat.panel.className = "chat";
    renderHeading(chat); setPresence(chat, f.visitor);
    setIntake(chat, f.intake);          // before the tools: suggestions are asked for with these answers
    renderTools(chat);
    if (fresh && !f.resumed) arrived();
  },
  message(f) {
    const chat = S.chats.get(f.chat);
    if (!chat) return;
    addLine(chat, f);
    if (f.key === "acute_guidance") { chat.acute = true; chat.status.className = "acute"; chat.status.textContent = f.text; }
  },
  referred(f) {
    // The visitor got cards with codes (never shown here); numbered like a line.
    const chat = S.chats.get(f.chat);
    if (!chat) return;
    const names = (f.services || []).map((id) => (S.serviceNames && S.serviceNames[id]) || id);
    addLine(chat, { seq: f.seq, from: "system", text: `${t("referral_sent")} ${names.join(", ")}` });
    chat.status.textContent = "";
  },
  ack(f) {
    const chat = S.chats.get(f.chat);
    if (!chat) return;
    const li = chat.pending.get(f.id);
    if (!li) return;
    chat.pending.delete(f.id);
    chat.seqs.add(f.seq);
    li.dataset.seq = f.seq;
    li.classList.remove("pending");
    const who = li.querySelector(".who");
    who.textContent = `${who.textContent.split(" · ")[0]} · ${t("delivered")}`;
  },
  intake(f) { const chat = S.chats.get(f.chat); if (chat) setIntake(chat, f.intake); },
  typing(f) { const chat = S.chats.get(f.chat); if (chat) chat.typing.textContent = f.active ? t("typing") : ""; },
  presence(f) { const chat = S.chats.get(f.chat); if (chat) setPresence(chat, f.visitor); },
  ended(f) {
    const chat = S.chats.get(f.chat);
    if (chat) endChat(chat, f.by, f.wrapup_due);
  },
  wrapup_saved(f) { removeChat(f.chat); notice(t("file_wrapup") + " ✓"); },
  observed(f) {
    const chat = S.chats.get(f.chat);
    if (!chat) return;
    chat.observers = f.supervisors || [];
    chat.watchTag.hidden = chat.observers.length === 0;
    chat.watchTag.textContent = `${t("observed_by")} ${chat.observers.join(", ")}`;
  },
  observing(f) {
    if (!f.active) {
      const chat = S.chats.get(f.chat);
      if (chat && chat.mode !== "own") removeChat(f.chat);
      return;
    }
    const existing = S.chats.get(f.chat);
    if (existing && existing.mode === "own") return;
    const chat = chatPanel(f.chat, f.joined ? "joined" : "observe");
    chat.lang = f.lang; chat.volunteer = f.volunteer;
    renderHeading(chat); setPresence(chat, f.visitor); setIntake(chat, f.intake); renderTools(chat);
  },
  escalated(f) {
    const chat = S.chats.get(f.chat);
    if (chat) chat.status.textContent = t(f.kind === "acute" ? "escalated_acute" : "escalated_help");
  },
  released(f) {
    removeChat(f.chat);
    notice(t(f.reason === "takeover" ? "released_takeover" : "released_transfer"));
  },
  transferred() { notice(t("transferred")); },
  followup_given(f) {
    const chat = S.chats.get(f.chat);
    if (chat) chat.status.textContent = t("followup_given").replace("{n}", f.valid_days);
  },
  followup_returned(f) {
    const chat = S.chats.get(f.chat);
    if (chat) chat.status.textContent = t("followup_returned");
  },
  blocked() { notice(t("blocked")); },
  overview(f) { renderOverview(f); },
  reconnect(f) { S.reconnectAfter = f.after_ms; },
  error(f) {
    if (f.code === "not_authenticated" || f.code === "signed_out" || f.code === "role_changed") { S.stop = true; toLogin(); return; }
    if (f.code === "not_allowed") { S.stop = true; banner(t("not_allowed")); return; }
    const known = TEXTS[lang][`error_${f.code}`];
    notice(`${t("error")} ${known || f.detail}`);
  },
};

/* -- supervisor ---------------------------------------------------------------------------- */
function fmtSeconds(s) {
  const m = Math.floor(s / 60);
  return m >= 1 ? `${m} min` : `${s} s`;
}
function table(caption, heads, rows) {
  const thead = el("tr", {}, ...heads.map((h) => el("th", { scope: "col", t: h })));
  return el("div", { class: "table-wrap" }, el("table", {}, el("caption", { t: caption }), el("thead", {}, thead),
    el("tbody", {}, ...rows)));
}
function renderOverview(f) {
  const box = $("overview");
  const q = f.queue || { waiting: 0, longest_wait_s: 0 };
  const alerts = el("ul", { class: "alerts" });
  for (const a of f.alerts || []) {
    alerts.append(el("li", { class: a.kind === "acute" ? "acute-alert" : "" },
      el("span", { text: `${t(`kind_${a.kind}`)} – ${a.volunteer} – ${fmtSeconds(a.since_s)} ` }),
      el("button", { type: "button", t: "observe", "data-key": `${a.alert}:observe`, onclick: () => send({ type: "observe", chat: a.chat, active: true }) }), " ",
      el("button", { type: "button", t: "dismiss", "data-key": `${a.alert}:dismiss`, onclick: () => send({ type: "dismiss", alert: a.alert }) })));
  }
  if (!(f.alerts || []).length) alerts.append(el("li", { t: "no_alerts" }));
  const chatRows = (f.chats || []).map((c) => {
    const hours = el("select", { ta: "hours", "data-key": `${c.chat}:hours` }, ...[24, 72, 168].map((h) => el("option", { value: String(h), text: `${h} ${t("hours")}` })));
    const mine = S.chats.get(c.chat);
    const actions = el("td", { class: "row" });
    if (c.state !== "wrapup" && !(mine && mine.mode === "own")) {
      actions.append(
        el("button", { type: "button", t: "observe", "data-key": `${c.chat}:observe`, onclick: () => send({ type: "observe", chat: c.chat, active: true }) }),
        c.state === "active" ? el("button", { type: "button", t: "join", "data-key": `${c.chat}:join`, onclick: () => send({ type: "join", chat: c.chat }) }) : null,
        c.state === "active" ? el("button", { type: "button", t: "takeover", "data-key": `${c.chat}:takeover`, onclick: () => send({ type: "takeover", chat: c.chat }) }) : null,
        hours,
        el("button", { type: "button", class: "danger", t: "block", "data-key": `${c.chat}:block`, onclick: () => {
          if (window.confirm(t("block_confirm"))) send({ type: "block", chat: c.chat, hours: Number(hours.value) });
        } }));
    }
    return el("tr", { "data-chat": c.chat }, el("td", { text: t(`state_${c.state}`) }), el("td", { text: c.volunteer || "–" }),
      el("td", { text: fmtSeconds(c.since_s) }), el("td", { text: c.lang }),
      el("td", { text: (c.flags || []).map((x) => t(`flag_${x}`)).join(", ") }), actions);
  });
  const volRows = (f.volunteers || []).map((v) => el("tr", {}, el("td", { text: v.display_name }),
    el("td", { text: t(`state_${v.state}`) }), el("td", { text: `${v.load}/${v.capacity}` }),
    el("td", { text: (v.languages || []).join(", ") })));
  const focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement : null;
  if (focused && focused.tagName === "SELECT") return;   // do not pull a menu from under the keyboard
  const focusKey = focused ? focused.dataset.key : undefined;
  box.replaceChildren(
    el("p", { class: "queue" }, el("strong", { t: "queue" }), el("span", { text: `: ${q.waiting} ${t("waiting")}, ${t("longest")} ${fmtSeconds(q.longest_wait_s)}` })),
    el("h3", { t: "alerts" }), alerts,
    table("chats_active", ["state", "volunteer", "since", "lang", "flags", "actions"], chatRows),
    table("volunteers", ["name", "state", "load", "lang"], volRows));
  if (focusKey) {                                       // keyboard focus survives the refresh
    const again = [...box.querySelectorAll("[data-key]")].find((n) => n.dataset.key === focusKey);
    (again || $("supervise")).focus();
  } else if (focused) {
    $("supervise").focus();
  }
}

function snippetRow(s) {
  const title = el("input", { type: "text", maxlength: "80", value: s.title || "", ta: "snippet_title" });
  const langSel = el("select", { ta: "language" }, el("option", { value: "sv", text: "sv" }), el("option", { value: "en", text: "en" }));
  langSel.value = s.lang || "sv";
  const text = el("textarea", { maxlength: "2000", ta: "snippet_text" });
  text.value = s.text || "";
  const row = el("div", { class: "snippet-row" }, title, langSel, text);
  row.append(el("button", { type: "button", class: "danger", t: "remove", onclick: () => row.remove() }));
  row.read = () => ({ title: title.value.trim(), lang: langSel.value, text: text.value.trim() });
  return row;
}
function renderSnippetEditor() {
  $("snippet-rows").replaceChildren(...S.snippets.map(snippetRow));
}
async function loadSnippets() {
  try {
    const r = await api("GET", "/api/snippets");
    if (r.ok) S.snippets = (await r.json()).snippets || [];
  } catch (e) { S.snippets = []; }
  for (const chat of S.chats.values()) if (chat.fillSnippets) chat.fillSnippets();
  if (isSupervisor()) renderSnippetEditor();
}
async function saveSnippets() {
  const rows = [...$("snippet-rows").children].map((r) => r.read()).filter((s) => s.title && s.text);
  const r = await api("PUT", "/api/snippets", { snippets: rows });
  if (r.ok) { notice(t("snippets_saved")); await loadSnippets(); }
  else { let d = ""; try { d = (await r.json()).detail; } catch (e) { d = String(r.status); } notice(`${t("error")} ${d}`); }
}
/* -- opening hours (supervisors; GET/PUT/DELETE /api/opening-hours) -------------------------
 * The form is rendered from a plain model ({weekly: {mon: ["18:00–22:00"]}, exceptions: [{date, label, closed,
 * hours}]}); every structural change reads the form into the model, changes it and renders it again, so the
 * element ids (hours-mon-0, hours-ex-1-date, …) always follow the order that is sent and the server's `field`
 * (weekly.mon[0], exceptions[1].date, …) maps back to the input it names. */
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const H = { view: null, rendered: false, where: {} };

function showInterval(text) { return String(text).replace("-", "–"); }
function sendInterval(text) { return String(text).replace(/\s+/g, "").replace(/[–—−]/g, "-"); }
function hoursModel(view) {
  const weekly = {};
  for (const d of DAYS) weekly[d] = ((view && view.weekly && view.weekly[d]) || []).map(showInterval);
  const exceptions = ((view && view.exceptions) || []).map((x) => ({
    date: x.date, label: x.label || "", closed: !(x.hours || []).length, hours: (x.hours || []).map(showInterval) }));
  return { weekly, exceptions };
}
function readHours() {
  const m = { weekly: {}, exceptions: [] };
  const values = (prefix) => [...document.querySelectorAll(`[data-interval="${prefix}"]`)].map((n) => n.value);
  for (const d of DAYS) m.weekly[d] = values(`hours-${d}`);
  document.querySelectorAll("#hours-exceptions .hours-exception").forEach((_, n) => {
    m.exceptions.push({ date: $(`hours-ex-${n}-date`).value, label: $(`hours-ex-${n}-label`).value,
      closed: $(`hours-ex-${n}-closed`).checked, hours: values(`hours-ex-${n}`) });
  });
  return m;
}
function editHours(change, focusId) {
  const m = readHours();
  change(m);
  renderHours(m);
  const id = typeof focusId === "function" ? focusId(m) : focusId;
  if (id && $(id)) $(id).focus();
}
function intervalCell(prefix, values, context, pick) {
  const box = el("div", { class: "intervals" });
  values.forEach((value, i) => {
    const id = `${prefix}-${i}`, name = `${context}, ${t("interval")} ${i + 1}`;
    const input = el("input", { type: "text", id, size: "12", maxlength: "40", autocomplete: "off", spellcheck: "false",
      inputmode: "numeric", "aria-describedby": "hours-format", "data-name": name, "data-interval": prefix });
    input.value = value;
    box.append(el("span", { class: "interval" }, el("label", { for: id, class: "visually-hidden", text: name }), input,
      el("button", { type: "button", class: "danger", id: `${id}-remove`, onclick: () => editHours(
        (m) => pick(m).splice(i, 1),
        (m) => (pick(m).length > i ? `${prefix}-${i}` : i > 0 ? `${prefix}-${i - 1}` : `${prefix}-add`)) },
      el("span", { t: "remove" }), el("span", { class: "visually-hidden", text: ` ${name}` }))));
  });
  if (!values.length) box.append(el("span", { class: "closed-note", t: "hours_closed" }));
  box.append(el("button", { type: "button", id: `${prefix}-add`, "data-name": context,
    onclick: () => editHours((m) => pick(m).push(""), (m) => `${prefix}-${pick(m).length - 1}`) },
  el("span", { t: "add_interval" }), el("span", { class: "visually-hidden", text: ` ${context}` })));
  return box;
}
function exceptionBox(x, n) {
  const legend = `${t("exception")} ${n + 1}`, key = `hours-ex-${n}`;
  const date = el("input", { type: "date", id: `${key}-date`, required: true, "data-name": `${legend}, ${t("ex_date")}` });
  date.value = x.date;
  const label = el("input", { type: "text", id: `${key}-label`, maxlength: "60", "data-name": `${legend}, ${t("ex_label")}` });
  label.value = x.label;
  const closed = el("input", { type: "checkbox", id: `${key}-closed`, "data-name": `${legend}, ${t("ex_closed")}`,
    onchange: () => editHours((m) => { const e = m.exceptions[n]; if (!e.closed && !e.hours.length) e.hours.push(""); },
      `${key}-closed`) });
  closed.checked = x.closed;
  const times = intervalCell(key, x.hours, legend, (m) => m.exceptions[n].hours);
  times.hidden = x.closed;
  return el("fieldset", { class: "hours-exception" }, el("legend", { text: legend }),
    el("label", { for: date.id }, el("span", { t: "ex_date" })), date, " ",
    el("label", { for: label.id }, el("span", { t: "ex_label" })), label, " ",
    el("label", {}, closed, el("span", { t: "ex_closed" })),
    times,
    el("p", {}, el("button", { type: "button", class: "danger", id: `${key}-remove`, onclick: () => editHours(
      (m) => m.exceptions.splice(n, 1), "hours-ex-add") },
    el("span", { t: "remove_exception" }), el("span", { class: "visually-hidden", text: ` ${n + 1}` }))));
}
function renderHours(m) {
  $("hours-days").replaceChildren(...DAYS.map((d) => el("tr", {}, el("th", { scope: "row", t: `day_${d}` }),
    el("td", {}, intervalCell(`hours-${d}`, m.weekly[d], t(`day_${d}`), (mm) => mm.weekly[d])))));
  $("hours-exceptions").replaceChildren(...m.exceptions.map(exceptionBox));
  H.rendered = true;
}
function fmtWhen(iso, tz) {
  const opts = { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" };
  try { return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "sv-SE", { ...opts, timeZone: tz }).format(new Date(iso)); }
  catch (e) { return iso; }
}
function renderHoursNow() {
  const v = H.view;
  let text;
  if (!v) text = t("hours_unknown");
  else if (!v.configured) text = t("hours_always");
  else if (v.open) text = t("hours_open_now");
  else if (v.next_open) text = `${t("hours_closed_now")} ${t("hours_next")} ${fmtWhen(v.next_open, v.timezone)} (${v.timezone}).`;
  else text = `${t("hours_closed_now")} ${t("hours_no_next")}`;
  if (v && v.today) text += ` ${t("hours_today")} ${v.today}.`;
  $("hours-now").textContent = text;
}
function hoursResult(text, kind) {
  const r = $("hours-result");
  r.textContent = text;
  r.className = `hours-result ${kind || ""}`;
}
function clearInvalid() {
  document.querySelectorAll("#hours-form [aria-invalid]").forEach((n) => {
    n.removeAttribute("aria-invalid");
    n.setAttribute("aria-describedby", "hours-format");
  });
}
function markInvalid(field, detail) {
  let key = field, id = H.where[key];
  while (!id && key) {                                  // weekly.mon[3] -> weekly.mon -> weekly
    const shorter = key.replace(/(\[\d+\]|\.[^.[]*)$/, "");
    key = shorter === key ? "" : shorter;
    id = H.where[key];
  }
  const target = id ? $(id) : null;
  const name = target ? target.dataset.name : field;
  const reason = String(detail || "").startsWith(`${field}: `) ? detail.slice(field.length + 2) : detail;
  hoursResult(`${t("hours_not_saved")} ${name}: ${reason}`, "error");
  if (target) {
    target.setAttribute("aria-invalid", "true");
    target.setAttribute("aria-describedby", "hours-result hours-format");
    target.focus();
  }
}
function hoursBody(m) {
  const where = {}, weekly = {};
  for (const d of DAYS) {
    weekly[d] = [];
    where[`weekly.${d}`] = `hours-${d}-add`;
    m.weekly[d].forEach((v, i) => {
      const s = sendInterval(v);
      if (!s) return;                                   // an empty box is no time
      where[`weekly.${d}[${weekly[d].length}]`] = `hours-${d}-${i}`;
      weekly[d].push(s);
    });
  }
  where.weekly = "hours-mon-add";
  const exceptions = m.exceptions.map((x, n) => {
    const key = `hours-ex-${n}`, hours = [];
    where[`exceptions[${n}]`] = where[`exceptions[${n}].date`] = `${key}-date`;
    where[`exceptions[${n}].label`] = `${key}-label`;
    where[`exceptions[${n}].hours`] = x.closed ? `${key}-closed` : `${key}-add`;
    if (!x.closed) {
      x.hours.forEach((v, i) => {
        const s = sendInterval(v);
        if (!s) return;
        where[`exceptions[${n}].hours[${hours.length}]`] = `${key}-${i}`;
        hours.push(s);
      });
    }
    const out = { date: x.date, hours };
    if (x.label.trim()) out.label = x.label.trim();
    return out;
  });
  where.exceptions = "hours-ex-add";
  return { body: { weekly, exceptions }, where };
}
async function hoursAnswer(r, okText) {
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (r.status === 401) { toLogin(); return; }
  if (r.ok && body) {
    H.view = body;
    renderHoursNow();
    renderHours(hoursModel(body));
    hoursResult(okText, "ok");
  } else if (body && body.error === "invalid_hours") {
    markInvalid(body.field || "", body.detail);
  } else {
    hoursResult(`${t("error")} ${(body && body.detail) || r.status}`, "error");
  }
}
async function saveHours(ev) {
  ev.preventDefault();
  clearInvalid();
  const m = readHours();
  const { body, where } = hoursBody(m);
  H.where = where;
  const bare = body.exceptions.findIndex((x, n) => !m.exceptions[n].closed && !x.hours.length);
  if (bare >= 0) { markInvalid(`exceptions[${bare}].hours`, t("hours_need_time")); return; }
  if (DAYS.every((d) => !body.weekly[d].length) && !window.confirm(t("hours_all_closed_confirm"))) return;
  hoursResult(t("hours_saving"));
  let r;
  try { r = await api("PUT", "/api/opening-hours", body); } catch (e) { hoursResult(`${t("error")} ${t("conn_lost")}`, "error"); return; }
  await hoursAnswer(r, t("hours_saved"));
}
async function clearHours() {
  if (!window.confirm(t("clear_hours_confirm"))) return;
  clearInvalid();
  let r;
  try { r = await api("DELETE", "/api/opening-hours"); } catch (e) { hoursResult(`${t("error")} ${t("conn_lost")}`, "error"); return; }
  await hoursAnswer(r, t("hours_cleared"));
}
async function loadHours(refreshForm) {
  let r;
  try { r = await api("GET", `/api/opening-hours?lang=${lang}`); } catch (e) { r = null; }
  H.view = r && r.ok ? await r.json() : null;
  renderHoursNow();
  if (refreshForm) renderHours(hoursModel(H.view));
}
function startHoursEditor() {
  $("hours-form").addEventListener("submit", saveHours);
  $("hours-clear").addEventListener("click", clearHours);
  $("hours-ex-add").addEventListener("click", () => editHours(
    (m) => m.exceptions.push({ date: "", label: "", closed: true, hours: [] }),
    (m) => `hours-ex-${m.exceptions.length - 1}-date`));
  loadHours(true);
  setInterval(() => { if (!document.hidden) loadHours(false); }, 60000);   // "open now" stays true
}

function isSupervisor() { return !!(S.me && (S.me.roles || []).includes("supervisor")); }

/* -- start ------------------------------------------------------------------------------- */
async function boot() {
  $("lang").value = lang;
  $("lang").addEventListener("change", () => {
    lang = $("lang").value === "en" ? "en" : "sv";
    localStorage.setItem("jourchatt.console.lang", lang);
    applyLang();
  });
  applyLang();
  let r;
  try { r = await api("GET", "/api/me"); } catch (e) { banner(t("conn_lost")); setTimeout(boot, 3000); return; }
  if (r.status === 401) { toLogin(); return; }
  S.me = await r.json();
  $("me").textContent = S.me.display_name;
  S.capacity = S.me.capacity || 1;
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  window.addEventListener("focus", seen);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) seen(); });
  $("status").addEventListener("click", () => {
    send({ type: "status", state: S.status === "available" ? "paused" : "available" });
  });
  $("logout").addEventListener("click", async () => {
    S.stop = true;
    try { await api("POST", "/api/logout"); } finally { toLogin(); }
  });
  if (isSupervisor()) {
    $("supervisor").hidden = false;
    $("supervise").addEventListener("change", () => {
      S.supervising = $("supervise").checked;
      send({ type: "supervise", active: S.supervising });
      if (!S.supervising) $("overview").replaceChildren();
    });
    $("snippet-add").addEventListener("click", () => $("snippet-rows").append(snippetRow({ lang })));
    $("snippet-save").addEventListener("click", saveSnippets);
    startHoursEditor();
  }
  if (!S.me.may_take_chats) { banner(t("not_allowed")); return; }
  await loadSnippets();
  connect();
}

document.addEventListener("DOMContentLoaded", boot);
