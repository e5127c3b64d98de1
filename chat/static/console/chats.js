/* The chat panels: one per chat of one's own, observed or joined, side by side; and the frames that
 * change them. */
import { t } from "../i18n.js";
import { S, $, isTrainee } from "./state.js";
import { el, notice } from "./ui.js";
import { on, send } from "./socket.js";
import { addLine } from "./log.js";
import { composer } from "./compose.js";
import { loadSuggestions } from "./referral.js";
import { wrapupForm } from "./wrapup.js";
import { arrived } from "./attention.js";
import { renderStatus } from "./status.js";
import { word, districtName } from "./vocab.js";
import { offerForm } from "./handover.js";

const ENDED_SHOWN_MS = 4000;   // how long a panel stays after a chat ended without a wrap-up due
const TAKEOVER_NOTICE_MS = 20000;   // the volunteer must get to read that a supervisor took the chat

/* "12:04" (or "1:02:03") for a number of seconds. */
function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0"), ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${Math.floor(s / 60)}:${ss}`;
}
function minutes(seconds) {
  return seconds < 60 ? t("under_a_minute") : t("n_minutes", { n: Math.round(seconds / 60) });
}

/* The chat's timers: how long the young person waited, and how long the chat has run (or ran). */
function renderTimer(chat) {
  if (chat.answeredAt === undefined) { chat.timer.hidden = true; return; }
  const until = chat.endedAt || Date.now();
  chat.timer.hidden = false;
  chat.timer.replaceChildren(
    el("span", { class: "tag", text: `${t("waited")} ${minutes(chat.waited || 0)}` }),
    el("span", { class: "tag", role: "timer", "aria-live": "off",
                 text: `${t(chat.endedAt ? "lasted" : "running")} ${clock((until - chat.answeredAt) / 1000)}` }));
}
setInterval(() => { for (const chat of S.chats.values()) if (!chat.endedAt) renderTimer(chat); }, 1000);

function intakeList(intake) {
  const dl = el("dl", { class: "intake" });
  const rows = [
    ["age", intake.age],
    ["gender", intake.gender ? word("gender", intake.gender) : null],
    ["municipality", intake.municipality ? word("municipality", intake.municipality) : null],
    ["district", intake.district ? districtName(intake.municipality, intake.district) : null],
    ["first_contact", intake.first_contact ? word("first_contact", intake.first_contact) : null],
    ["intake_topic", intake.topic ? word("role", intake.topic) : null],
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
  chat.timer = el("p", { class: "timer", hidden: true });
  chat.intakeBox = el("div");
  // The lines are a list inside a live region: role="log" on the <ol> itself would take the
  // list's role from its <li> (axe: listitem).
  chat.log = el("ol", { class: "log", ta: "log", tabindex: "0" });
  const logBox = el("div", { role: "log", "aria-live": "polite", ta: "log" }, chat.log);
  chat.typing = el("p", { class: "typing", "aria-live": "polite" });
  chat.status = el("p", { role: "status" });
  chat.tools = el("div", { class: "tools" });
  chat.panel.append(chat.heading, chat.timer, chat.presence, chat.watchTag, chat.intakeBox, logBox, chat.typing,
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
    el("span", { class: "tag", text: word("language", chat.lang || "sv") }),
    chat.mode === "observe" ? el("span", { class: "tag watch", t: "observing" }) : null,
    chat.mode === "joined" ? el("span", { class: "tag watch", t: "joined" }) : null,
    chat.practice ? el("span", { class: "tag practice", text: `${t("practice_host")} ${chat.host || ""}` }) : null,
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

function renderTools(chat) {
  const tools = [];
  if (chat.ended) { chat.tools.replaceChildren(); return; }
  if (chat.mode === "own") {
    tools.push(composer(chat, false));
    chat.suggest = el("section", { class: "suggest" }, el("h4", { t: "suggestions" }), el("div"));
    tools.push(chat.suggest);
    if (chat.practice) {                    // a practice chat: no alert, no code, no handing over
      tools.push(el("div", { class: "row" }, el("button", { type: "button", class: "danger", t: "end", onclick: () => {
        if (window.confirm(t("end_confirm"))) send({ type: "end", chat: chat.id });
      } })));
      chat.tools.replaceChildren(...tools);
      loadSuggestions(chat);
      return;
    }
    const [offerToggle, offerFormEl] = offerForm(chat);
    tools.push(el("div", { class: "row" },
      el("button", { type: "button", t: "give_followup", onclick: () => send({ type: "followup", chat: chat.id }) }),
      el("button", { type: "button", t: "help", onclick: () => send({ type: "escalate", chat: chat.id, kind: "help" }) }),
      el("button", { type: "button", class: "danger", t: "acute", onclick: () => send({ type: "escalate", chat: chat.id, kind: "acute" }) }),
      offerToggle,
      el("button", { type: "button", class: "danger", t: "end", onclick: () => {
        if (window.confirm(t("end_confirm"))) send({ type: "end", chat: chat.id });
      } })), offerFormEl);
  } else if (isTrainee()) {                 // following with the volunteer's consent: whisper, or stop
    tools.push(composer(chat, true), el("div", { class: "row" },
      el("button", { type: "button", t: "stop_following", onclick: () => send({ type: "shadow", chat: chat.id, active: false }) })));
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

function endChat(chat, by, wrapupDue) {
  chat.ended = true;
  if (chat.forgetOffer) chat.forgetOffer();
  chat.endedAt = chat.endedAt || Date.now();
  renderTimer(chat);
  chat.presence.hidden = true;        // "Den unga är ansluten" is no longer true, nor needed
  chat.typing.textContent = "";
  chat.tools.replaceChildren();
  chat.status.textContent = `${t("ended_by")}${by ? ` (${t(`by_${by}`)})` : ""}.`;
  if (chat.mode === "own" && wrapupDue) {
    const form = wrapupForm(chat);
    chat.tools.append(form);
    const first = form.querySelector("input");
    if (first) first.focus();
  } else {
    setTimeout(() => removeChat(chat.id), ENDED_SHOWN_MS);
  }
  renderStatus();
}

function removeChat(id) {
  const chat = S.chats.get(id);
  if (!chat) return;
  if (chat.forgetOffer) chat.forgetOffer();
  clearTimeout(chat.typingTimer);
  chat.panel.remove();
  S.chats.delete(id);
  renderStatus();
}

/* The chat the frame names, if this console shows it. */
function chatOf(f) { return S.chats.get(f.chat); }

on("assigned", (f) => {
  const fresh = !S.chats.has(f.chat);
  const chat = chatPanel(f.chat, "own");
  if (chat.mode !== "own" || chat.ended) { chat.ended = false; }
  chat.mode = "own"; chat.lang = f.lang; chat.practice = !!f.practice; chat.host = f.host;
  chat.panel.className = "chat";
  chat.presence.hidden = false;
  chat.endedAt = undefined;
  if (typeof f.active_s === "number") { chat.answeredAt = Date.now() - f.active_s * 1000; chat.waited = f.waited_s; }
  renderTimer(chat);
  renderStatus();                     // a chat taken over is one's own now: the header counts it
  renderHeading(chat); setPresence(chat, f.visitor);
  setIntake(chat, f.intake);          // before the tools: suggestions are asked for with these answers
  renderTools(chat);
  if (fresh && !f.resumed) arrived();
});
on("message", (f) => {
  const chat = chatOf(f);
  if (!chat) return;
  addLine(chat, f);
  if (f.key === "acute_guidance") { chat.acute = true; chat.status.className = "acute"; chat.status.textContent = f.text; }
});
on("ack", (f) => {
  const chat = chatOf(f);
  if (!chat) return;
  const li = chat.pending.get(f.id);
  if (!li) return;
  chat.pending.delete(f.id);
  chat.seqs.add(f.seq);
  li.dataset.seq = f.seq;
  li.classList.remove("pending");
  const who = li.querySelector(".who");
  who.textContent = `${who.textContent.split(" · ")[0]} · ${t("delivered")}`;
});
on("intake", (f) => { const chat = chatOf(f); if (chat) setIntake(chat, f.intake); });
on("typing", (f) => { const chat = chatOf(f); if (chat) chat.typing.textContent = f.active ? t("typing") : ""; });
on("presence", (f) => { const chat = chatOf(f); if (chat) setPresence(chat, f.visitor); });
on("ended", (f) => { const chat = chatOf(f); if (chat) endChat(chat, f.by, f.wrapup_due); });
on("wrapup_saved", (f) => { removeChat(f.chat); notice(t("file_wrapup") + " ✓"); });
on("observed", (f) => {
  const chat = chatOf(f);
  if (!chat) return;
  chat.observers = f.supervisors || [];
  const trainees = f.trainees || [];
  chat.watchTag.hidden = chat.observers.length === 0 && trainees.length === 0;
  for (const row of chat.panel.querySelectorAll(".follower")) {
    if (!trainees.includes(row.dataset.name)) row.remove();
  }
  chat.watchTag.textContent = [chat.observers.length ? `${t("observed_by")} ${chat.observers.join(", ")}` : "",
    trainees.length ? `${t("trainees_follow")} ${trainees.join(", ")}` : ""].filter(Boolean).join(" · ");
});
on("observing", (f) => {
  if (!f.active) {
    const chat = chatOf(f);
    if (chat && chat.mode !== "own") removeChat(f.chat);
    return;
  }
  const existing = chatOf(f);
  if (existing && existing.mode === "own") return;
  const chat = chatPanel(f.chat, f.joined ? "joined" : "observe");
  chat.lang = f.lang; chat.volunteer = f.volunteer;
  if (typeof f.active_s === "number") { chat.answeredAt = Date.now() - f.active_s * 1000; chat.waited = f.waited_s; }
  renderTimer(chat);
  renderHeading(chat); setPresence(chat, f.visitor); setIntake(chat, f.intake); renderTools(chat);
});
on("escalated", (f) => {
  const chat = chatOf(f);
  if (chat) chat.status.textContent = t(f.kind === "acute" ? "escalated_acute" : "escalated_help");
});
on("released", (f) => {
  removeChat(f.chat);
  notice(t(f.reason === "takeover" ? "released_takeover" : "released_transfer"), TAKEOVER_NOTICE_MS);
});
on("transferred", () => { notice(t("transferred")); });
on("followup_given", (f) => {
  const chat = chatOf(f);
  if (chat) chat.status.textContent = t("followup_given", { n: f.valid_days });
});
on("followup_returned", (f) => {
  const chat = chatOf(f);
  if (chat) chat.status.textContent = t("followup_returned");
});
on("blocked", () => { notice(t("blocked")); });
