/* The supervisor's overview of the shift (the overview frame, while "show the overview" is ticked):
 * queue, alerts, chats with observe/join/take over/block, volunteers, queue and staffing per language. */
import { t } from "../i18n.js";
import { S, $ } from "./state.js";
import { el } from "./ui.js";
import { on, send } from "./socket.js";
import { word } from "./vocab.js";

function fmtSeconds(s) {
  const m = Math.floor(s / 60);
  return m >= 1 ? `${m} min` : `${s} s`;
}
function table(caption, heads, rows) {
  const thead = el("tr", {}, ...heads.map((h) => el("th", { scope: "col", t: h })));
  return el("div", { class: "table-wrap" }, el("table", {}, el("caption", { t: caption }), el("thead", {}, thead),
    el("tbody", {}, ...rows)));
}
/* A supervisor offers a volunteer's chat to a colleague (a warm transfer on the holder's behalf);
 * a trainee's console takes no chats, so it is never offered one. */
function handOver(c, volunteers) {
  const others = volunteers.filter((v) => v.id !== c.volunteer_id && v.state !== "away" && v.load < v.capacity
    && v.role !== "trainee");
  if (!others.length) return [];
  const to = el("select", { ta: "offer_to", "data-key": `${c.chat}:offer-to` },
    ...others.map((v) => el("option", { value: v.id, text: v.display_name })));
  return [to, el("button", { type: "button", t: "offer_send", "data-key": `${c.chat}:offer`,
    onclick: () => send({ type: "offer", chat: c.chat, to: { volunteer: to.value }, note: "" }) })];
}

function renderOverview(f) {
  const box = $("overview");
  const q = f.queue || { waiting: 0, longest_wait_s: 0 };
  const alerts = el("ul", { class: "alerts" });
  for (const a of f.alerts || []) {
    alerts.append(el("li", { class: a.kind === "acute" ? "acute-alert" : "" },
      el("span", { text: `${t(`kind_${a.kind}`)} – ${a.volunteer} – ${fmtSeconds(a.since_s)} ` }),
      a.kind === "debrief" ? null     // asked for after the chat: nothing left to observe
        : el("button", { type: "button", t: "observe", "data-key": `${a.alert}:observe`, onclick: () => send({ type: "observe", chat: a.chat, active: true }) }), " ",
      el("button", { type: "button", t: "dismiss", "data-key": `${a.alert}:dismiss`, onclick: () => send({ type: "dismiss", alert: a.alert }) })));
  }
  if (!(f.alerts || []).length) alerts.append(el("li", { t: "no_alerts" }));
  const chatRows = (f.chats || []).map((c) => {
    const hours = el("select", { ta: "hours", "data-key": `${c.chat}:hours` }, ...[24, 72, 168].map((h) => el("option", { value: String(h), text: `${h} ${t("hours")}` })));
    const mine = S.chats.get(c.chat);
    const actions = el("td", { class: "row" });
    if (c.state !== "wrapup" && !(mine && mine.mode === "own")) {
      actions.append(...[                              // (null for the buttons a queued chat has not)
        el("button", { type: "button", t: "observe", "data-key": `${c.chat}:observe`, onclick: () => send({ type: "observe", chat: c.chat, active: true }) }),
        c.state === "active" ? el("button", { type: "button", t: "join", "data-key": `${c.chat}:join`, onclick: () => send({ type: "join", chat: c.chat }) }) : null,
        c.state === "active" ? el("button", { type: "button", t: "takeover", "data-key": `${c.chat}:takeover`, onclick: () => send({ type: "takeover", chat: c.chat }) }) : null,
        "specialist_wait_s" in c || "followup_wait_s" in c ? el("button", { type: "button", t: "route_any", "data-key": `${c.chat}:route_any`, onclick: () => send({ type: "route_any", chat: c.chat }) }) : null,
        ...(c.state === "active" && !(c.flags || []).includes("practice") ? handOver(c, f.volunteers || []) : []),
        hours,
        el("button", { type: "button", class: "danger", t: "block", "data-key": `${c.chat}:block`, onclick: () => {
          if (window.confirm(t("block_confirm"))) send({ type: "block", chat: c.chat, hours: Number(hours.value) });
        } })].filter(Boolean));
    }
    return el("tr", { "data-chat": c.chat }, el("td", { text: t(`state_${c.state}`) }), el("td", { text: c.volunteer || "–" }),
      el("td", { text: fmtSeconds(c.since_s) }), el("td", { text: word("language", c.lang) }),
      el("td", { text: (c.flags || []).map((x) => t(`flag_${x}`)).join(", ") }),
      el("td", { text: [c.topic ? word("role", c.topic) : "",        // "–" alone only when there is nothing to say
        "specialist_wait_s" in c ? `${t("kept_for_specialist")} (${fmtSeconds(c.specialist_wait_s)})` : "",
        "followup_wait_s" in c ? `${t("kept_for_volunteer", { name: c.kept_for })} (${fmtSeconds(c.followup_wait_s)})` : ""]
        .filter(Boolean).join(" – ") || "–" }),
      actions);
  });
  const volRows = (f.volunteers || []).map((v) => el("tr", {},
    el("td", { text: v.role === "trainee" ? `${v.display_name} (${t("role_trainee")})` : v.display_name }),
    el("td", { text: t(`state_${v.state}`) }), el("td", { text: `${v.load}/${v.capacity}` }),
    el("td", { text: (v.languages || []).map((l) => word("language", l)).join(", ") }),
    el("td", { text: (v.skills || []).map((s) => word("skill", s)).join(", ") || "–" })));
  // Per language: a row for each language with chats waiting or someone on duty speaking it.
  const langRows = (f.languages || []).filter((l) => l.waiting || l.on_duty.length).map((l) =>
    el("tr", { class: l.waiting && !l.on_duty.length ? "unstaffed" : "" },
      el("th", { scope: "row", text: word("language", l.lang) }),
      el("td", { text: l.waiting ? `${l.waiting} (${t("longest")} ${fmtSeconds(l.longest_wait_s)})` : "0" }),
      el("td", { text: l.on_duty.length ? l.on_duty.join(", ") : t("nobody_on_duty") }),
      el("td", { text: String(l.available) })));
  const focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement : null;
  if (focused && focused.tagName === "SELECT") return;   // do not pull a menu from under the keyboard
  const focusKey = focused ? focused.dataset.key : undefined;
  // A choice made in a menu (whom to offer a chat, how long to block) survives the refresh.
  const chosen = new Map([...box.querySelectorAll("select[data-key]")].map((n) => [n.dataset.key, n.value]));
  box.replaceChildren(
    el("p", { class: "queue" }, el("strong", { t: "queue" }), el("span", { text: `: ${q.waiting} ${t("waiting")}, ${t("longest")} ${fmtSeconds(q.longest_wait_s)}` + (q.for_specialist ? `, ${q.for_specialist} ${t("kept_for_specialist").toLowerCase()}` : "")
      + (q.for_volunteer ? `, ${q.for_volunteer} ${t("kept_for_own")}` : "") })),
    el("h3", { t: "alerts" }), alerts,
    table("chats_active", ["state", "volunteer", "since", "lang", "flags", "topic_col", "actions"], chatRows),
    table("volunteers", ["name", "state", "load", "lang", "skills"], volRows),
    table("by_language", ["lang", "waiting_n", "on_duty", "free_n"], langRows));
  for (const menu of box.querySelectorAll("select[data-key]")) {
    const value = chosen.get(menu.dataset.key);
    if (value !== undefined && [...menu.options].some((o) => o.value === value)) menu.value = value;
  }
  if (focusKey) {                                       // keyboard focus survives the refresh
    const again = [...box.querySelectorAll("[data-key]")].find((n) => n.dataset.key === focusKey);
    (again || $("supervise")).focus();
  } else if (focused) {
    $("supervise").focus();
  }
}

export function startSupervision() {
  $("supervisor").hidden = false;
  $("supervise").addEventListener("change", () => {
    S.supervising = $("supervise").checked;
    send({ type: "supervise", active: S.supervising });
    if (!S.supervising) $("overview").replaceChildren();
  });
}

on("overview", renderOverview);
