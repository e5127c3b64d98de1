/* Warm transfer and care (docs/protocol.md, "Warm transfer" and "Care for volunteers"): offering a
 * chat to a colleague or a pool with a handover note, answering the offers one gets, the debrief
 * button after a chat, and the suggested pause after several heavy chats.
 *
 * A handover note lives only in this page's memory and in the receiver's: never stored. */
import { t } from "../i18n.js";
import { S, $ } from "./state.js";
import { el, notice } from "./ui.js";
import { on, send } from "./socket.js";
import { word } from "./vocab.js";

const NOTE_MAX = 500;           // as the server's limit (chat/frames.py MAX_NOTE_CHARS)
const POOLS = ["sv", "en"];     // the languages a chat can be held in (GET /api/vocabularies: language)

let colleagues = [];
const refills = new Set();      // open offer forms, refilled when the list of colleagues arrives
const incoming = new Map();     // offer id -> its card
const outgoing = new Map();     // chat id -> offer id, while an offer of ours waits for an answer

on("colleagues", (f) => {
  colleagues = f.volunteers || [];
  for (const refill of refills) refill();
});

function targetOptions(select) {
  const keep = select.value;
  const people = el("optgroup", { label: t("offer_people") });
  for (const v of colleagues) {
    const state = t(v.state === "available" ? "state_available" : "state_paused");
    people.append(el("option", { value: `volunteer:${v.id}`, disabled: !v.free,
      text: `${v.display_name} (${v.free ? state : t("offer_full")})` }));
  }
  if (!colleagues.length) people.append(el("option", { value: "", disabled: true, t: "offer_nobody" }));
  const pools = el("optgroup", { label: t("offer_pools") });
  for (const l of POOLS) pools.append(el("option", { value: `language:${l}`, text: t(`offer_pool_${l}`) }));
  const skills = [...new Set(colleagues.flatMap((v) => v.skills || []))].sort();
  for (const s of skills) pools.append(el("option", { value: `skill:${s}`, text: `${t("offer_pool_skill")} ${word("skill", s)}` }));
  select.replaceChildren(people, pools);
  if ([...select.options].some((o) => o.value === keep && !o.disabled)) select.value = keep;
}

/* The "hand over" form under a chat of one's own: whom to, and a short note for them only. */
export function offerForm(chat) {
  if (chat.forgetOffer) chat.forgetOffer();       // the tools are drawn again: one form per chat
  const n = chat.n;
  const select = el("select", { id: `offer-to-${n}`, name: "to", required: true });
  const note = el("textarea", { id: `offer-note-${n}`, name: "note", rows: "2", maxlength: String(NOTE_MAX) });
  const form = el("form", { class: "offer-form", hidden: true, novalidate: true },
    el("p", {}, el("label", { for: `offer-to-${n}`, t: "offer_to" }), " ", select,
      " ", el("button", { type: "button", t: "offer_refresh", onclick: () => send({ type: "colleagues" }) })),
    el("p", {}, el("label", { for: `offer-note-${n}`, t: "offer_note" }), el("br"), note),
    el("p", { class: "hint", t: "offer_note_hint" }),
    el("p", { class: "row" }, el("button", { type: "submit", class: "primary", t: "offer_send" }),
      el("button", { type: "button", t: "offer_cancel", onclick: () => { form.hidden = true; toggle.setAttribute("aria-expanded", "false"); } })));
  const refill = () => targetOptions(select);
  refills.add(refill);
  const toggle = el("button", { type: "button", t: "offer_open", "aria-expanded": "false", onclick: () => {
    form.hidden = !form.hidden;
    toggle.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) { refill(); send({ type: "colleagues" }); select.focus(); }
  } });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const [kind, ...rest] = select.value.split(":");
    if (!kind || !rest.length) { notice(t("offer_pick")); return; }
    send({ type: "offer", chat: chat.id, to: { [kind]: rest.join(":") }, note: note.value.trim() });
  });
  chat.offerNote = note;
  chat.forgetOffer = () => refills.delete(refill);
  return [toggle, form];
}

on("offer_sent", (f) => {
  outgoing.set(f.chat, f.offer);
  const chat = S.chats.get(f.chat);
  if (!chat) return;
  if (chat.offerNote) chat.offerNote.value = "";      // the note is gone from this page once sent
  const form = chat.tools.querySelector(".offer-form");
  if (form) form.hidden = true;
  chat.status.replaceChildren(el("span", { text: `${t("offer_waiting", { n: f.receivers, s: f.expires_in_s })} ` }),
    el("button", { type: "button", t: "offer_take_back", onclick: () => send({ type: "offer_cancel", offer: f.offer }) }));
});

/* The socket connected again (a new welcome): the server sends every offer still open to or from this
 * console right after it (offer/offer_sent with resumed), so the cards and waits shown before go; one
 * that ended while the socket was down would otherwise stay. */
export function forgetOffers() {
  for (const card of incoming.values()) { clearInterval(card.timer); card.remove(); }
  incoming.clear();
  const box = $("offers");
  if (box) box.remove();
  for (const chatId of outgoing.keys()) {
    const chat = S.chats.get(chatId);
    if (chat && !chat.ended) chat.status.textContent = "";
  }
  outgoing.clear();
}

/* An offer made to this console: a card with the chat's language, the intake, the note; take or decline. */
function offersBox() {
  let box = $("offers");
  if (!box) {
    box = el("section", { id: "offers", class: "offers", "aria-labelledby": "offers-h" },
      el("h2", { id: "offers-h", t: "offers" }));
    document.querySelector("main").prepend(box);
  }
  return box;
}

on("offer", (f) => {
  const intake = f.intake || {};
  const facts = [["age", intake.age], ["gender", intake.gender ? word("gender", intake.gender) : null],
    ["municipality", intake.municipality ? word("municipality", intake.municipality) : null]]
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${t(k)}: ${v}`).join(" · ");
  const left = el("span", { class: "tag" });
  const card = el("article", { class: "offer", "data-offer": f.offer, "aria-label": t("offer_from", { name: f.from }) },
    el("h3", { text: t("offer_from", { name: f.from }) }),
    el("p", {}, el("span", { class: "tag", text: (f.lang || "sv").toUpperCase() }), " ",
      f.pool ? el("span", { class: "tag", t: "offer_to_pool" }) : null, " ", left),
    facts ? el("p", { text: facts }) : null,
    f.note ? el("blockquote", { class: "note" }, el("span", { class: "visually-hidden", t: "offer_note" }),
      el("span", { text: f.note })) : el("p", { t: "offer_no_note" }),
    el("p", { class: "row" },
      el("button", { type: "button", class: "primary", t: "offer_accept",
        onclick: () => send({ type: "offer_reply", offer: f.offer, accept: true }) }),
      el("button", { type: "button", t: "offer_decline",
        onclick: () => send({ type: "offer_reply", offer: f.offer, accept: false }) })));
  const until = Date.now() + f.expires_in_s * 1000;       // after a reconnection: the time left
  const shown = incoming.get(f.offer);
  if (shown) { clearInterval(shown.timer); shown.remove(); }
  const tick = () => { left.textContent = t("offer_left", { s: Math.max(0, Math.round((until - Date.now()) / 1000)) }); };
  tick();
  card.timer = setInterval(tick, 1000);
  incoming.set(f.offer, card);
  offersBox().append(card);
  notice(t("offer_new", { name: f.from }));
});

on("offer_ended", (f) => {
  const card = incoming.get(f.offer);
  if (card) {
    clearInterval(card.timer);
    card.remove();
    incoming.delete(f.offer);
    const box = $("offers");
    if (box && !box.querySelector(".offer")) box.remove();
    if (f.reason === "taken" || f.reason === "expired" || f.reason === "withdrawn") notice(t(`offer_gone_${f.reason}`));
    return;
  }
  if (outgoing.get(f.chat) === f.offer) outgoing.delete(f.chat);
  const chat = S.chats.get(f.chat);
  const text = t(`offer_${f.reason}`, { name: f.by || "" });
  if (chat && !chat.ended) chat.status.textContent = text;
  notice(text);
});

/* After a chat: ask the supervisor on duty for a debrief (in the wrap-up, while it is due). */
export function debriefButton(chat) {
  const button = el("button", { type: "button", class: "debrief", t: "debrief", onclick: () => {
    button.disabled = true;
    send({ type: "debrief", chat: chat.id });
  } });
  chat.debriefButton = button;
  return el("p", { class: "row" }, button, el("span", { class: "hint", t: "debrief_hint" }));
}

on("debrief_sent", (f) => {
  const chat = S.chats.get(f.chat);
  if (chat && chat.debriefButton) { chat.debriefButton.disabled = true; chat.debriefButton.textContent = t("debrief_sent"); }
  notice(t("debrief_sent"));
});

/* Several heavy chats in a row: suggest a pause (the volunteer decides). */
on("care", (f) => {
  const box = el("div", { class: "care", role: "alert" },
    el("p", { text: t("care_pause", { n: f.heavy_in_row }) }),
    el("p", { class: "row" },
      el("button", { type: "button", class: "primary", t: "care_take_pause", onclick: () => {
        send({ type: "status", state: "paused" }); box.remove();
      } }),
      el("button", { type: "button", t: "care_later", onclick: () => box.remove() })));
  document.querySelector("main").prepend(box);
});
