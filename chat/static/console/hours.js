/* The supervisors' opening-hours editor (GET/PUT/DELETE /api/opening-hours).
 *
 * The form is rendered from a plain model ({weekly: {mon: ["18:00–22:00"]}, exceptions: [{date, label, closed,
 * hours}]}); every structural change reads the form into the model, changes it and renders it again, so the
 * element ids (hours-mon-0, hours-ex-1-date, …) always follow the order that is sent and the server's `field`
 * (weekly.mon[0], exceptions[1].date, …) maps back to the input it names. */
import { t, api, lang } from "../i18n.js";
import { $, toLogin } from "./state.js";
import { el } from "./ui.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const REFRESH_MS = 60000;     // "open now" stays true while the page is visible
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
function hoursAnswer(r, okText) {
  const body = r.data;
  if (r.status === 0) { hoursResult(`${t("error")} ${t("conn_lost")}`, "error"); return; }
  if (r.status === 401) { toLogin(); return; }
  if (r.status === 200) {
    H.view = body;
    renderHoursNow();
    renderHours(hoursModel(body));
    hoursResult(okText, "ok");
  } else if (body.error === "invalid_hours") {
    markInvalid(body.field || "", body.detail);
  } else {
    hoursResult(`${t("error")} ${body.detail || r.status}`, "error");
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
  hoursAnswer(await api("PUT", "/api/opening-hours", body), t("hours_saved"));
}
async function clearHours() {
  if (!window.confirm(t("clear_hours_confirm"))) return;
  clearInvalid();
  hoursAnswer(await api("DELETE", "/api/opening-hours"), t("hours_cleared"));
}
async function loadHours(refreshForm) {
  const r = await api("GET", `/api/opening-hours?lang=${lang}`);
  H.view = r.status === 200 ? r.data : null;
  renderHoursNow();
  if (refreshForm) renderHours(hoursModel(H.view));
}
export function startHoursEditor() {
  $("hours-form").addEventListener("submit", saveHours);
  $("hours-clear").addEventListener("click", clearHours);
  $("hours-ex-add").addEventListener("click", () => editHours(
    (m) => m.exceptions.push({ date: "", label: "", closed: true, hours: [] }),
    (m) => `hours-ex-${m.exceptions.length - 1}-date`));
  loadHours(true);
  setInterval(() => { if (!document.hidden) loadHours(false); }, REFRESH_MS);
}

/* The labels made of several words follow the language: redraw the form as it stands. */
export function relabelHours() {
  if (H.rendered) { renderHours(readHours()); renderHoursNow(); }
}
