/* The wrap-up form after a chat of one's own ends: fixed choices only, from the server's vocabularies. */
import { t } from "../i18n.js";
import { el } from "./ui.js";
import { send } from "./socket.js";
import { choices, districts } from "./vocab.js";
import { debriefButton } from "./handover.js";

const STOCKHOLM = "0180";    // the only municipality with districts: a district implies it

function radioGroup(name, vocab, type) {
  const fs = el("fieldset", {}, el("legend", { t: name }));
  for (const [value, label] of choices(vocab)) {
    fs.append(el("label", {}, el("input", { type, name, value }), el("span", { text: label })));
  }
  return fs;
}

function selectOf(name, options, keepLabel) {
  const select = el("select", { name });
  select.append(el("option", { value: "", text: keepLabel }));
  for (const [value, label] of options) select.append(el("option", { value, text: label }));
  return el("label", {}, el("span", { t: name }), " ", select);
}

export function wrapupForm(chat) {
  const form = el("form", { class: "wrapup", novalidate: true });
  const nd = el("select", { name: "non_data" }, el("option", { value: "", t: "none" }));
  for (const [value, label] of choices("non_data")) nd.append(el("option", { value, text: label }));
  const ages = [];
  for (let a = 8; a <= 30; a += 1) ages.push([String(a), String(a)]);
  const corr = el("fieldset", {}, el("legend", { t: "corrections" }),
    selectOf("age", ages, t("keep")),
    selectOf("gender", choices("gender"), t("keep")),
    selectOf("municipality", choices("municipality"), t("keep")),
    selectOf("district", districts(STOCKHOLM), t("keep")),
    selectOf("first_contact", choices("first_contact"), t("keep")));
  const error = el("p", { role: "alert", class: "acute", hidden: true });
  const heavy = el("label", {}, el("input", { type: "checkbox", name: "heavy", value: "1" }), " ", el("span", { t: "wrapup_heavy" }));
  form.append(el("h4", { t: "wrapup" }), radioGroup("topic", "role", "radio"), radioGroup("violence", "violence", "checkbox"),
    el("label", {}, el("span", { t: "non_data" }), " ", nd), corr, el("p", {}, heavy), debriefButton(chat), error,
    el("button", { type: "submit", class: "primary", t: "file_wrapup" }));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const report = { topic: data.get("topic") || null, violence: data.getAll("violence"),
      non_data: data.get("non_data") || null };
    if (data.get("heavy")) report.heavy = true;
    if (!report.topic && !report.non_data) { error.textContent = t("wrapup_topic_needed"); error.hidden = false; return; }
    for (const k of ["gender", "municipality", "first_contact"]) if (data.get(k)) report[k] = data.get(k);
    if (data.get("age")) report.age = Number(data.get("age"));
    if (data.get("district")) { report.district = data.get("district"); report.municipality = STOCKHOLM; }
    send({ type: "wrapup", chat: chat.id, report });
  });
  return form;
}
