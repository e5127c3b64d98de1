/* Referral suggestions for a chat's answers (GET /api/referrals/suggest) and the one-click refer. */
import { t, api, lang } from "../i18n.js";
import { S } from "./state.js";
import { el } from "./ui.js";
import { addLine } from "./log.js";
import { on, send } from "./socket.js";

export async function loadSuggestions(chat) {
  if (!chat.suggest || chat.ended) return;
  const body = chat.suggest.lastChild;
  body.replaceChildren(el("p", { t: "loading" }));
  const q = new URLSearchParams();
  const i = chat.intake || {};
  if (i.age) q.set("age", i.age);
  if (i.municipality) q.set("municipality", i.municipality);
  if (i.district) q.set("district", i.district);
  if (i.topic) q.set("role", i.topic);     // the young person's own topic: uses_violence leads with programmes
  q.set("language", chat.lang || "sv");
  q.set("lang", lang);
  if (chat.acute) q.set("acute", "true");
  const asked = (chat.asked = (chat.asked || 0) + 1);     // a newer intake outdates this answer
  const r = await api("GET", `/api/referrals/suggest?${q}`);
  if (asked !== chat.asked) return;
  if (r.status !== 200) { body.replaceChildren(el("p", { t: "no_directory" })); return; }
  const services = Array.isArray(r.data.services) ? r.data.services : [];
  if (!services.length) { body.replaceChildren(el("p", { t: "no_suggestions" })); return; }
  const ul = el("ul");
  for (const s of services.slice(0, 8)) {
    S.serviceNames[s.id] = s.name;
    // The reason on a line of its own, no brackets around it (its own text may hold some).
    ul.append(el("li", {}, el("strong", { text: String(s.name || s.id) }),
      typeof s.reason === "string" && s.reason ? el("span", { class: "reason", text: s.reason }) : null,
      el("button", { type: "button", t: "refer", onclick: () => {
        if (send({ type: "refer", chat: chat.id, services: [String(s.id)] })) chat.status.textContent = t("referred");
      } })));
  }
  body.replaceChildren(ul);
}

// The visitor got cards with codes (never shown here); numbered like a line.
on("referred", (f) => {
  const chat = S.chats.get(f.chat);
  if (!chat) return;
  const names = (f.services || []).map((id) => S.serviceNames[id] || id);
  addLine(chat, { seq: f.seq, from: "system", text: `${t("referral_sent")} ${names.join(", ")}` });
  chat.status.textContent = "";
});
