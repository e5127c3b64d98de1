/* Shifts: the week view where a volunteer books and cancels their own evening shifts
 * (GET/POST/DELETE /api/shifts), and for supervisors and coordinators the roster of the same week
 * against the opening hours, with the hours nobody has booked marked (GET /api/shifts/roster), where
 * they may book for someone else (by username) and cancel anyone's shift.
 *
 * Times are the service's (the time zone GET /api/opening-hours names), whatever the browser's zone. */
import { t, api } from "../i18n.js";
import { $, toLogin } from "./state.js";
import { el } from "./ui.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const W = { monday: null, tz: "Europe/Stockholm", hours: null, roster: false, me: null };

function iso(d) { return d.toISOString().slice(0, 10); }
function addDays(day, n) { const d = new Date(`${day}T12:00:00Z`); d.setUTCDate(d.getUTCDate() + n); return iso(d); }
/* Today's date in the service's zone, and the Monday of its week. */
function today() { return new Intl.DateTimeFormat("sv-SE", { timeZone: W.tz }).format(new Date()); }
function mondayOf(day) { return addDays(day, -DAYS.indexOf(weekday(day))); }
/* "+01:00" for the service's zone on that local day and time. */
function offset(day, hhmm) {
  const at = new Date(`${day}T${hhmm}:00Z`);
  const name = new Intl.DateTimeFormat("en-US", { timeZone: W.tz, timeZoneName: "longOffset" })
    .formatToParts(at).find((p) => p.type === "timeZoneName").value;
  const m = /GMT([+-]\d{2}):?(\d{2})?/.exec(name);
  return m ? `${m[1]}:${m[2] || "00"}` : "+00:00";
}
function instant(day, hhmm) { return `${day}T${hhmm}:00${offset(day, hhmm)}`; }
function localTime(isoText) {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: W.tz, hour: "2-digit", minute: "2-digit" }).format(new Date(isoText));
}
function localDay(isoText) { return new Intl.DateTimeFormat("sv-SE", { timeZone: W.tz }).format(new Date(isoText)); }
function dash(text) { return String(text).replace("-", "–"); }

/* The opening hours of a local day, from the schedule's weekly part and its exceptions. */
function openOn(day) {
  const h = W.hours;
  if (!h || !h.configured) return ["00:00-24:00"];
  const ex = (h.exceptions || []).find((x) => x.date === day);
  if (ex) return ex.hours || [];
  return (h.weekly || {})[weekday(day)] || [];
}
function span(day, interval) {
  const [a, b] = interval.split("-");
  const end = b === "24:00" ? "00:00" : b;
  const endDay = end <= a ? addDays(day, 1) : day;
  return { start: instant(day, a), end: instant(endDay, end) };
}

function result(text, ok) {
  const r = $("shifts-result");
  r.textContent = text;
  r.className = ok ? "shifts-result ok" : "shifts-result error";
}
function problem(res) {
  if (res.status === 401) { toLogin(); return; }
  const field = res.data && res.data.field ? ` (${res.data.field})` : "";
  result(`${t("shift_not_saved")}${field}: ${(res.data && res.data.detail) || res.status}`, false);
}

async function book(body, label) {
  const res = await api("POST", "/api/shifts", body);
  if (res.status !== 201) return problem(res);
  result(`${t("shift_booked")} ${label}`, true);
  await render();
}
async function cancel(shift) {
  if (!confirm(t("shift_cancel_confirm"))) return;
  const res = await api("DELETE", `/api/shifts/${shift.id}`);
  if (res.status !== 204) return problem(res);
  result(t("shift_cancelled"), true);
  await render();
}

function shiftText(s) { return `${localTime(s.start)}–${localTime(s.end)}`; }
function weekday(day) { return DAYS[(new Date(`${day}T12:00:00Z`).getUTCDay() + 6) % 7]; }
function dayName(day) { return `${t(`day_${weekday(day)}`)} ${Number(day.slice(8))}/${Number(day.slice(5, 7))}`; }

function weekRow(day, list, now) {
  const mine = list.filter((s) => s.mine && localDay(s.start) === day);
  const others = list.filter((s) => !s.mine && localDay(s.start) === day);
  const cell = el("td", {});
  for (const s of mine) {
    cell.append(el("p", { class: "shift mine" }, el("span", { text: `${t("shift_mine")} ${shiftText(s)} ` }),
      el("button", { type: "button", class: "danger", id: `shift-cancel-${s.id}`, onclick: () => cancel(s) },
        el("span", { t: "shift_cancel" }), el("span", { class: "visually-hidden", text: ` ${dayName(day)} ${shiftText(s)}` }))));
  }
  const open = openOn(day);
  for (const interval of open) {
    const sp = span(day, interval);
    const taken = mine.some((s) => new Date(s.start) < new Date(sp.end) && new Date(s.end) > new Date(sp.start));
    if (taken || new Date(sp.start) < now) continue;
    cell.append(el("button", { type: "button", class: "primary", id: `shift-book-${day}-${interval.replace(":", "").slice(0, 4)}`,
      onclick: () => book(sp, `${dayName(day)} ${dash(interval)}`) },
    el("span", { t: "shift_book" }), el("span", { text: ` ${dash(interval)}` }),
    el("span", { class: "visually-hidden", text: ` ${dayName(day)}` })));
  }
  if (!open.length) cell.append(el("span", { class: "closed-note", t: "hours_closed" }));
  if (others.length) {
    cell.append(el("p", { class: "hint", text: `${t("shift_others")} ${others.map((s) => `${s.volunteer} ${shiftText(s)}`).join(", ")}` }));
  }
  return el("tr", {}, el("th", { scope: "row", text: dayName(day) }), cell);
}

function rosterRow(d) {
  const booked = el("td", {});
  for (const s of d.shifts) {
    booked.append(el("p", { class: "shift" }, el("span", { text: `${s.volunteer} ${s.from}–${s.until} ` }),
      el("button", { type: "button", class: "danger", id: `roster-cancel-${s.id}`, onclick: () => cancel(s) },
        el("span", { t: "shift_cancel" }), el("span", { class: "visually-hidden", text: ` ${s.volunteer} ${dayName(d.date)}` }))));
  }
  const gaps = el("td", { class: d.uncovered.length ? "uncovered" : "covered" },
    d.uncovered.length ? el("strong", { text: `${t("roster_uncovered")} ${d.uncovered.map(dash).join(", ")}` })
      : el("span", { t: d.open.length ? "roster_covered" : "hours_closed" }));
  return el("tr", {}, el("th", { scope: "row", text: dayName(d.date) }),
    el("td", { text: d.open.map(dash).join(", ") || "–" }), booked, gaps);
}

async function render() {
  const monday = W.monday, sunday = addDays(monday, 6);
  $("shifts-week").textContent = `${dayName(monday)} – ${dayName(sunday)}`;
  const res = await api("GET", `/api/shifts?from=${monday}&to=${sunday}`);
  if (res.status === 401) return toLogin();
  const list = res.status === 200 ? res.data.shifts : [];
  const now = new Date();
  $("shifts-days").replaceChildren(...[0, 1, 2, 3, 4, 5, 6].map((n) => weekRow(addDays(monday, n), list, now)));
  if (!W.roster) return;
  const roster = await api("GET", `/api/shifts/roster?from=${monday}&to=${sunday}`);
  if (roster.status !== 200) return problem(roster);
  $("roster-days").replaceChildren(...roster.data.days.map(rosterRow));
  const missing = roster.data.days.reduce((n, d) => n + d.uncovered_min, 0);
  $("roster-summary").textContent = missing ? t("roster_missing", { h: Math.round(missing / 6) / 10 }) : t("roster_all_covered");
}

async function bookFor(e) {
  e.preventDefault();
  const who = $("roster-account").value.trim(), day = $("roster-day").value;
  const from = $("roster-from").value, until = $("roster-until").value;
  if (!who || !day || !from || !until) return result(t("roster_fill_in"), false);
  const endDay = until <= from ? addDays(day, 1) : day;
  await book({ account: who, start: instant(day, from), end: instant(endDay, until) }, `${who} ${dayName(day)} ${from}–${until}`);
}

/* Start the week view (everyone who takes chats) and, with ``roster``, the roster. */
export async function startShifts(roster, takesChats) {
  W.roster = roster;
  $("shifts").hidden = false;
  $("my-shifts").hidden = !takesChats;
  $("roster").hidden = !roster;
  const hours = await api("GET", "/api/opening-hours");
  if (hours.status === 200) { W.hours = hours.data; W.tz = hours.data.timezone || W.tz; }
  W.monday = mondayOf(today());
  $("shifts-prev").addEventListener("click", () => { W.monday = addDays(W.monday, -7); render(); });
  $("shifts-next").addEventListener("click", () => { W.monday = addDays(W.monday, 7); render(); });
  if (roster) $("roster-form").addEventListener("submit", bookFor);
  document.addEventListener("langchange", () => render());      // day names and sentences built here
  await render();
}
