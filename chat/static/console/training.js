/* Training (docs/protocol.md, "Trainees and practice chats"): a trainee asks to follow a chat; the
 * volunteer who holds it says yes or no; a supervisor or volunteer opens a practice chat and plays
 * the young person in a panel of its own, while the answerer gets it as an ordinary chat.
 *
 * A practice chat's resume token is kept in memory only (S.practice), like every chat's text. */
import { t, api } from "../i18n.js";
import { S, $, isTrainee, isSupervisor } from "./state.js";
import { el, notice } from "./ui.js";
import { on, send } from "./socket.js";
import { insertBySeq } from "./log.js";

const ENDED_SHOWN_MS = 4000;   // how long a practice panel stays once the practice is over

/* -- the trainee: which chats to follow ------------------------------------------------------ */

function renderFollowList(chats) {
  const list = $("follow-list");
  list.replaceChildren(...chats.map((c) => el("li", {},
    el("span", { text: `${t("chat")} – ${c.volunteer} – ${c.lang.toUpperCase()} ` }),
    c.following ? el("span", { class: "tag", t: "observing" })
      : el("button", { type: "button", t: c.asked ? "shadow_asked_short" : "ask_follow", disabled: c.asked ? true : null,
        onclick: () => send({ type: "shadow", chat: c.chat, active: true }) }))));
  if (!chats.length) list.append(el("li", { t: "no_follow" }));
}

on("shadowable", (f) => renderFollowList(f.chats || []));
on("shadowing", (f) => {
  notice(t(`shadow_${f.state}`));
  send({ type: "shadowable" });         // the list says what follows now
});

/* -- the volunteer: a trainee asks ------------------------------------------------------------ */

on("shadow_request", (f) => {
  const chat = S.chats.get(f.chat);
  if (!chat) return;
  chat.asks = chat.asks || new Map();
  const old = chat.asks.get(f.trainee);
  if (old) { old.remove(); chat.asks.delete(f.trainee); }
  if (!f.active) return;
  const answer = (accept) => {
    send({ type: "shadow_answer", chat: f.chat, trainee: f.trainee, accept });
    box.remove(); chat.asks.delete(f.trainee);
    if (accept) follower(chat, f.trainee, f.name);
  };
  const box = el("div", { class: "ask", role: "group", "aria-label": t("shadow_request") },
    el("p", { text: `${f.name} ${t("wants_to_follow")}` }),
    el("div", { class: "row" },
      el("button", { type: "button", class: "primary", t: "allow", onclick: () => answer(true) }),
      el("button", { type: "button", t: "decline", onclick: () => answer(false) })));
  chat.asks.set(f.trainee, box);
  chat.panel.insertBefore(box, chat.tools);
  notice(`${f.name} ${t("wants_to_follow")}`);
});

/* A trainee following the chat: the volunteer may ask it to go (chats.js drops the row once
 * ``observed`` no longer names it). */
function follower(chat, trainee, name) {
  const row = el("div", { class: "follower row", "data-name": name },
    el("span", { text: `${name} ${t("follows_now")}` }),
    el("button", { type: "button", t: "send_away", onclick: () => {
      send({ type: "shadow_answer", chat: chat.id, trainee, accept: false });
      row.remove();
    } }));
  chat.panel.insertBefore(row, chat.tools);
}

/* -- practice chats: the player's panel ----------------------------------------------------- */

function line(p, from, text, seq, name) {
  const who = from === "visitor" ? t("you") : from === "system" ? t("system") : `${t("volunteer")} ${name || p.partner}`;
  const li = el("li", { class: from === "visitor" ? "volunteer" : "visitor" },
    el("span", { class: "who", text: who }), el("span", { text }));
  if (seq !== undefined) { if (p.seqs.has(seq)) return; p.seqs.add(seq); li.dataset.seq = seq; }
  insertBySeq(p, li, seq);
}

function playerPanel(chat, partner) {
  S.counter += 1;
  const p = { id: chat, partner, seqs: new Set(), pending: new Map(), token: "", ended: false };
  const headingId = `chat-h-${S.counter}`;
  p.panel = el("article", { class: "chat practice", "aria-labelledby": headingId });
  p.log = el("ol", { class: "log", ta: "log", tabindex: "0" });
  const logBox = el("div", { role: "log", "aria-live": "polite", ta: "log" }, p.log);   // a list inside the live region
  p.typing = el("p", { class: "typing", "aria-live": "polite" });
  p.status = el("p", { role: "status" });
  const area = el("textarea", { ta: "practice_say", maxlength: "4000", rows: "3" });
  const say = () => {
    const text = area.value;
    if (!text.trim() || p.ended) return;
    const id = S.nextId++;
    if (!send({ type: "practice_visitor", chat, frame: { type: "message", id, text } })) return;
    const li = el("li", { class: "volunteer pending" }, el("span", { class: "who", text: `${t("you")} · ${t("sending")}` }),
      el("span", { text }));
    p.pending.set(id, li);
    insertBySeq(p, li);
    area.value = "";
  };
  area.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); say(); }
  });
  p.tools = el("div", { class: "compose" }, area, el("div", { class: "row" },
    el("button", { type: "button", class: "primary", t: "send", onclick: say }),
    el("button", { type: "button", class: "danger", t: "practice_leave", onclick: () => {
      send({ type: "practice_visitor", chat, frame: { type: "leave" } });
    } })));
  p.panel.append(el("h3", { id: headingId }, el("span", { text: `${t("practice")} – ${t("practice_play")}` }),
    el("span", { class: "tag", text: `${t("practice_with")} ${partner}` })), logBox, p.typing, p.status, p.tools);
  $("chats").append(p.panel);
  $("empty").hidden = true;
  S.practice.set(chat, p);
  area.focus();
  return p;
}

function played(p, f) {
  if (f.type === "welcome") { p.token = f.resume_token || p.token; return; }
  if (f.type === "assigned") { p.status.textContent = `${t("practice_with")} ${f.volunteer}`; return; }
  if (f.type === "message") { line(p, f.from, f.text, f.seq, f.name); if (f.from !== "visitor") p.typing.textContent = ""; return; }
  if (f.type === "typing") { p.typing.textContent = f.active ? t("typing") : ""; return; }
  if (f.type === "ack") {
    const li = p.pending.get(f.id);
    if (!li) return;
    p.pending.delete(f.id); p.seqs.add(f.seq); li.dataset.seq = f.seq; li.classList.remove("pending");
    li.querySelector(".who").textContent = `${t("you")} · ${t("delivered")}`;
    return;
  }
  if (f.type === "referral") {
    const cards = (f.services || []).map((s) => `${s.name} (${t("practice_code")} ${s.code})`).join(", ");
    line(p, "system", `${t("referral_sent")} ${cards}`, f.seq);
    return;
  }
  if (f.type === "ended") {
    p.ended = true;
    p.tools.replaceChildren();
    p.status.textContent = `${t("ended_by")}.`;
    setTimeout(() => { p.panel.remove(); S.practice.delete(p.id); $("empty").hidden = S.chats.size + S.practice.size > 0; },
      ENDED_SHOWN_MS);
  }
}

on("practice_opened", (f) => playerPanel(f.chat, f.name));
on("practice_frame", (f) => { const p = S.practice.get(f.chat); if (p) played(p, f.frame); });
on("practice_partners", (f) => {
  const select = $("practice-partner");
  select.replaceChildren(...(f.people || []).map((p) => el("option", { value: p.id,
    text: `${p.display_name} (${t(`role_${p.role}`)})` })));
  $("practice-open").disabled = !(f.people || []).length;
  if (!(f.people || []).length) notice(t("practice_none"));
});

/* After a reconnect: every practice chat this page plays goes on (the server keeps it for a while). */
export function resumePractice() {
  for (const p of S.practice.values()) {
    if (!p.ended && p.token) send({ type: "practice_resume", resume_token: p.token, last_seq: Math.max(0, ...p.seqs) });
  }
}

/* -- the supervisor: marking a trainee's shadowed shifts (the training record) ------------------ */

async function loadTrainees() {
  const list = $("trainee-list");
  const res = await api("GET", "/api/trainees");
  if (res.status !== 200) { list.replaceChildren(el("li", { t: "trainees_unavailable" })); return; }
  const today = new Date().toLocaleDateString("sv-SE");          // YYYY-MM-DD, the local day
  list.replaceChildren(...res.data.trainees.map((tr) => {
    const marked = tr.shifts.some((s) => s.day === today);
    return el("li", {},
      el("span", { text: `${tr.display_name}: ${t("shifts_count", { n: tr.shifts.length, r: tr.required })} ` }),
      el("button", { type: "button", t: marked ? "unmark_today" : "mark_today", onclick: async () => {
        const path = `/api/trainees/${encodeURIComponent(tr.username)}/shifts`;
        const done = marked ? await api("DELETE", `${path}/${today}`) : await api("POST", path, { day: today });
        notice(t(done.status === 200 ? (marked ? "shift_unmarked" : "shift_marked") : "shift_failed", { u: tr.display_name }));
        loadTrainees();
      } }));
  }));
  if (!res.data.trainees.length) list.append(el("li", { t: "no_trainees" }));
}

export function startTraining() {
  const box = $("training");
  box.hidden = false;
  if (isTrainee()) {
    box.append(el("p", { t: "trainee_intro" }), el("h3", { t: "follow_title" }), el("ul", { id: "follow-list" }),
      el("button", { type: "button", t: "refresh", onclick: () => send({ type: "shadowable" }) }));
    return;
  }
  const lang = el("select", { id: "practice-lang", ta: "practice_lang" }, el("option", { value: "sv", t: "practice_in_sv" }),
    el("option", { value: "en", t: "practice_in_en" }));
  box.append(el("h3", { t: "practice_title" }), el("p", { t: "practice_intro" }),
    el("p", { class: "row" },
      el("label", { for: "practice-partner", t: "practice_partner" }), el("select", { id: "practice-partner" }), lang,
      el("button", { type: "button", t: "practice_find", onclick: () => send({ type: "practice_partners" }) }),
      el("button", { type: "button", id: "practice-open", class: "primary", t: "practice_open", disabled: true,
        onclick: () => send({ type: "practice_open", partner: $("practice-partner").value, lang: lang.value }) })));
  if (isSupervisor()) {
    box.append(el("h3", { t: "trainees_title" }), el("ul", { id: "trainee-list" }),
      el("button", { type: "button", t: "refresh", onclick: loadTrainees }));
    loadTrainees();
  }
}
