/* /admin: accounts (create, disable/enable, reset, training). Talks to /api/admin/... */
import "./shell.js";
import * as I from "./i18n.js";
import { startAudit } from "./audit.js";

I.add({
  page_title: "Konton – jourchatt", admin_title: "Administration", logout: "Logga ut", accounts: "Konton",
  accounts_caption: "Alla konton med roll, status, utbildning och tvåstegsverifiering.",
  col_user: "Användare", col_role: "Roll", col_status: "Status", col_training: "Utbildning",
  col_2fa: "Tvåstegsverifiering", col_actions: "Åtgärder",
  role_volunteer: "Volontär", role_supervisor: "Handledare", role_coordinator: "Samordnare", role_admin: "Administratör", role_trainee: "Praktikant",
  shifts: "Följda pass: {n} av {r}", shifts_none: "Inga följda pass ännu", shifts_marked: "{d} (markerat av {m})",
  status_active: "Aktivt", status_disabled: "Avstängt", status_reset: "Återställt, väntar på inloggning",
  training_valid: "Giltig", training_missing: "Saknas", training_expired: "Utgången",
  training_not_applicable: "Behövs inte för rollen",
  tf_enabled: "Aktiverad", tf_enroll: "Ej aktiverad",
  disable: "Stäng av", enable: "Aktivera", reset: "Återställ",
  create_title: "Nytt konto", username: "Användarnamn", display_name: "Namn som besökaren ser",
  capacity: "Samtidiga chattar", languages: "Språk", lang_sv: "Svenska", lang_en: "Engelska",
  lang_ar: "Arabiska", lang_fa: "Persiska", lang_so: "Somaliska", lang_ti: "Tigrinja", lang_uk: "Ukrainska", create: "Skapa konto",
  training_title: "Registrera utbildning", kind: "Kurs", kind_basic: "Grundkurs", kind_refresher: "Repetitionskurs",
  completed: "Genomförd (datum)", expires: "Giltig till (valfritt)",
  expires_hint: "Repetitionskurs utan datum får standardgiltigheten (normalt 12 månader).", record: "Registrera",
  until: "till {d}",
  temporary: "Tillfälligt lösenord för {u}: {p} — visas bara nu. Lämna det personligen; vid första inloggningen väljs ett eget lösenord och tvåstegsverifiering.",
  created: "Kontot {u} är skapat.", disabled_ok: "{u} är avstängt.", enabled_ok: "{u} är aktiverat.",
  training_ok: "Utbildningen är registrerad för {u}.",
  col_skills: "Kompetenser", skills_title: "Kompetenser", skills_user: "Konto", skills_legend: "Kan särskilt prata om",
  skills_hint: "Chattar om ett ämne går först till en volontär med den kompetensen.",
  skills_save: "Spara kompetenser", skills_ok: "Kompetenserna för {u} är sparade.", skills_none: "Inga",
  confirm_reset: "Återställa {u}? Alla inloggningar avslutas och ett nytt lösenord och ny tvåstegsverifiering krävs.",
  confirm_disable: "Stänga av {u}? Alla inloggningar avslutas.",
  role_of: "Roll för {u}", confirm_role: "Ge {u} rollen {r}?", role_ok: "{u} har nu rollen {r}.",
  confirm_role_short: "{u} har följt {n} av {k} pass som praktikant. Ge {u} rollen {r} ändå, så att hen svarar själv?",
  err_forbidden: "Sidan är bara för administratörer.", err_network: "Ingen kontakt med servern.",
  err_generic: "Det gick inte: {d}",
}, {
  page_title: "Accounts – jourchatt", admin_title: "Administration", logout: "Sign out", accounts: "Accounts",
  accounts_caption: "Every account with role, status, training and two-step verification.",
  col_user: "User", col_role: "Role", col_status: "Status", col_training: "Training",
  col_2fa: "Two-step verification", col_actions: "Actions",
  role_volunteer: "Volunteer", role_supervisor: "Supervisor", role_coordinator: "Coordinator", role_admin: "Admin", role_trainee: "Trainee",
  shifts: "Shadowed shifts: {n} of {r}", shifts_none: "No shadowed shifts yet", shifts_marked: "{d} (marked by {m})",
  status_active: "Active", status_disabled: "Disabled", status_reset: "Reset, awaiting sign-in",
  training_valid: "Valid", training_missing: "Missing", training_expired: "Expired",
  training_not_applicable: "Not needed for the role",
  tf_enabled: "Enabled", tf_enroll: "Not set up",
  disable: "Disable", enable: "Enable", reset: "Reset",
  create_title: "New account", username: "Username", display_name: "Name visitors see",
  capacity: "Chats at a time", languages: "Languages", lang_sv: "Swedish", lang_en: "English",
  lang_ar: "Arabic", lang_fa: "Persian", lang_so: "Somali", lang_ti: "Tigrinya", lang_uk: "Ukrainian", create: "Create account",
  training_title: "Record training", kind: "Course", kind_basic: "Basic course", kind_refresher: "Refresher",
  completed: "Completed (date)", expires: "Valid until (optional)",
  expires_hint: "A refresher without a date gets the default validity (normally 12 months).", record: "Record",
  until: "until {d}",
  temporary: "Temporary password for {u}: {p} — shown only now. Hand it over in person; at first sign-in they choose their own password and set up two-step verification.",
  created: "The account {u} is created.", disabled_ok: "{u} is disabled.", enabled_ok: "{u} is enabled.",
  training_ok: "The training is recorded for {u}.",
  col_skills: "Skills", skills_title: "Skills", skills_user: "Account", skills_legend: "Trained to talk about",
  skills_hint: "Chats about a topic go first to a volunteer with that skill.",
  skills_save: "Save skills", skills_ok: "The skills of {u} are saved.", skills_none: "None",
  confirm_reset: "Reset {u}? Every session ends and a new password and two-step verification are required.",
  confirm_disable: "Disable {u}? Every session ends.",
  role_of: "Role of {u}", confirm_role: "Give {u} the role {r}?", role_ok: "{u} now has the role {r}.",
  confirm_role_short: "{u} has shadowed {n} of {k} shifts as a trainee. Give {u} the role {r} anyway, to answer alone?",
  err_forbidden: "This page is for admins only.", err_network: "No contact with the server.",
  err_generic: "That did not work: {d}",
});

const $ = (id) => document.getElementById(id);
let accounts = [];
let self = null;            /* the signed-in admin: their own account is changed by another admin */
let lastNotice = null;
/* the roles that answer chats need training; a trainee takes its course on the way to them */
const CHAT_ROLES = ["volunteer", "supervisor"];
const TRAINING_ROLES = [...CHAT_ROLES, "trainee"];

let vocab = null;           /* GET /api/vocabularies: the skills' words and labels */

function skillLabel(value) {
  const entry = ((vocab && vocab.skill) || []).find((e) => e.value === value);
  return entry ? (entry[I.lang] || entry.sv) : value;
}

function renderSkills() {
  const user = accounts.find((a) => a.username === $("s-user").value);
  const box = $("s-choices");
  for (const old of box.querySelectorAll("label")) { old.remove(); }
  for (const entry of (vocab && vocab.skill) || []) {
    const input = el("input", { type: "checkbox", name: "skill", value: entry.value, id: "s-" + entry.value });
    input.checked = Boolean(user && user.skills.includes(entry.value));
    const label = el("label", { for: "s-" + entry.value });
    label.append(input, " ", el("span", {}, skillLabel(entry.value)));
    box.append(label);
  }
}

function error(text) { $("message").textContent = text || ""; if (text) { $("notice").textContent = ""; } }
function notice(key, vars) {
  lastNotice = [key, vars];
  $("notice").textContent = I.t(key, vars);
  $("message").textContent = "";
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { e.setAttribute(k, v); }
  if (text !== undefined) { e.textContent = text; }
  return e;
}

// Shadowed shifts expected of a trainee before answering alone (volunteer.shadowed_shifts.SHIFTS_REQUIRED).
const SHIFTS_REQUIRED = 2;

function trainingText(a) {
  const label = I.t("training_" + a.training);
  const latest = a.trainings.length ? a.trainings[a.trainings.length - 1] : null;
  return latest && latest.expires ? label + " (" + I.t("until", { d: latest.expires }) + ")" : label;
}

function render() {
  const body = $("rows");
  body.textContent = "";
  for (const a of accounts) {
    const tr = el("tr");
    const who = el("th", { scope: "row" });
    who.append(el("span", {}, a.username), el("br"), el("span", { class: "hint" }, a.display_name));
    tr.append(who);
    if (a.username === self) {
      tr.append(el("td", {}, I.t("role_" + a.role)));
    } else {
      const roleCell = el("td");
      const sel = el("select", { "aria-label": I.t("role_of", { u: a.username }) });
      for (const r of ["volunteer", "supervisor", "coordinator", "admin", "trainee"]) {
        const opt = el("option", { value: r }, I.t("role_" + r));
        if (r === a.role) { opt.selected = true; }
        sel.append(opt);
      }
      sel.addEventListener("change", () => changeRole(a, sel));
      roleCell.append(sel);
      tr.append(roleCell);
    }
    const status = a.disabled ? "disabled" : a.password_change ? "reset" : "active";
    const st = el("td");
    st.append(el("span", { class: "tag " + (status === "active" ? "good" : status === "disabled" ? "bad" : "warn") },
      I.t("status_" + status)));
    tr.append(st);
    const tt = el("td");
    if (TRAINING_ROLES.includes(a.role)) {
      tt.append(el("span", { class: "tag " + (a.training === "valid" ? "good" : "bad") }, trainingText(a)));
    } else {                            /* coordinators and admins take no chats: nothing is missing */
      tt.append(el("span", { class: "hint" }, I.t("training_not_applicable")));
    }
    const shifts = a.shadowed_shifts || [];
    if (a.role === "trainee" || shifts.length) {           // the training record: shifts shadowed as a trainee
      const list = el("details", { class: "shifts" });
      list.append(el("summary", {}, shifts.length
        ? I.t("shifts", { n: String(shifts.length), r: String(SHIFTS_REQUIRED) }) : I.t("shifts_none")));
      const ul = el("ul");
      for (const s of shifts) ul.append(el("li", {}, I.t("shifts_marked", { d: s.day, m: s.marked_by || "–" })));
      list.append(ul);
      tt.append(el("br"), list);
    }
    tr.append(tt);
    tr.append(el("td", {}, I.t("tf_" + a.second_factor)));
    tr.append(el("td", {}, (a.skills || []).map(skillLabel).join(", ") || I.t("skills_none")));
    const actions = el("div", { class: "actions" });
    if (a.username === self) { tr.append(el("td", {}, "—")); body.append(tr); continue; }
    const toggle = el("button", { type: "button", class: a.disabled ? "secondary" : "danger",
      "aria-label": I.t(a.disabled ? "enable" : "disable") + " " + a.username }, I.t(a.disabled ? "enable" : "disable"));
    toggle.addEventListener("click", () => act(a, a.disabled ? "enable" : "disable"));
    const reset = el("button", { type: "button", class: "secondary", "aria-label": I.t("reset") + " " + a.username },
      I.t("reset"));
    reset.addEventListener("click", () => act(a, "reset"));
    actions.append(toggle, reset);
    const td = el("td");
    td.append(actions);
    tr.append(td);
    body.append(tr);
  }
  const sel = $("t-user");
  const chosen = sel.value;
  sel.textContent = "";
  for (const a of accounts.filter((x) => TRAINING_ROLES.includes(x.role))) {
    sel.append(el("option", { value: a.username }, a.username + " – " + a.display_name));
  }
  if (chosen) { sel.value = chosen; }
  const ssel = $("s-user");
  const schosen = ssel.value;
  ssel.textContent = "";
  for (const a of accounts) { ssel.append(el("option", { value: a.username }, a.username + " – " + a.display_name)); }
  if (schosen) { ssel.value = schosen; }
  renderSkills();
}

async function load() {
  const res = await I.api("GET", "/api/admin/accounts");
  if (res.status === 401) { window.location.assign("/login?next=/admin"); return false; }
  if (res.status === 403) { error(I.t("err_forbidden")); return false; }
  if (res.status !== 200) { error(I.t("err_network")); return false; }
  accounts = res.data.accounts;
  render();
  startAudit(accounts);
  return true;
}

function failed(res) { error(res.status === 0 ? I.t("err_network") : I.t("err_generic", { d: res.data.detail || res.data.error })); }

async function act(a, action) {
  if (action === "reset" && !window.confirm(I.t("confirm_reset", { u: a.username }))) { return; }
  if (action === "disable" && !window.confirm(I.t("confirm_disable", { u: a.username }))) { return; }
  const res = await I.api("POST", "/api/admin/accounts/" + encodeURIComponent(a.username) + "/" + action);
  if (res.status !== 200) { failed(res); return; }
  await load();
  if (action === "reset") { notice("temporary", { u: a.username, p: res.data.temporary_password }); }
  else { notice(action === "disable" ? "disabled_ok" : "enabled_ok", { u: a.username }); }
  $("notice").focus();
}

async function changeRole(a, sel) {
  const role = sel.value;
  // A trainee short of the shadowed shifts may still answer alone, if the admin says so knowingly.
  const shadowed = (a.shadowed_shifts || []).length;
  const short = a.role === "trainee" && CHAT_ROLES.includes(role) && shadowed < SHIFTS_REQUIRED;
  const ask = short
    ? I.t("confirm_role_short", { u: a.username, n: String(shadowed), k: String(SHIFTS_REQUIRED), r: I.t("role_" + role) })
    : I.t("confirm_role", { u: a.username, r: I.t("role_" + role) });
  if (!window.confirm(ask)) { sel.value = a.role; return; }
  const res = await I.api("POST", "/api/admin/accounts/" + encodeURIComponent(a.username) + "/role",
    short ? { role: role, despite_shifts: true } : { role: role });
  if (res.status !== 200) { sel.value = a.role; failed(res); return; }
  await load();
  notice("role_ok", { u: a.username, r: I.t("role_" + role) });
}

$("form-create").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const langs = ["sv", "en", "ar", "fa", "so", "ti", "uk"].filter((l) => $("c-lang-" + l).checked);
  const res = await I.api("POST", "/api/admin/accounts", {
    username: $("c-username").value.trim(), display_name: $("c-display").value.trim(),
    role: $("c-role").value, languages: langs, capacity: parseInt($("c-capacity").value, 10) || 1,
  });
  if (res.status !== 201) { failed(res); $("c-username").focus(); return; }
  ev.target.reset();
  await load();
  notice("temporary", { u: res.data.account.username, p: res.data.temporary_password });
  $("notice").focus();
});

$("form-training").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const user = $("t-user").value;
  const body = { kind: $("t-kind").value, completed: $("t-completed").value };
  if ($("t-expires").value) { body.expires = $("t-expires").value; }
  const res = await I.api("POST", "/api/admin/accounts/" + encodeURIComponent(user) + "/training", body);
  if (res.status !== 200) { failed(res); $("t-completed").focus(); return; }
  await load();
  notice("training_ok", { u: user });
});

$("s-user").addEventListener("change", renderSkills);

$("form-skills").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const user = $("s-user").value;
  const skills = [...$("s-choices").querySelectorAll("input:checked")].map((i) => i.value);
  const res = await I.api("POST", "/api/admin/accounts/" + encodeURIComponent(user) + "/skills", { skills: skills });
  if (res.status !== 200) { failed(res); return; }
  await load();
  notice("skills_ok", { u: user });
});

document.addEventListener("langchange", () => { render(); if (lastNotice) { $("notice").textContent = I.t(lastNotice[0], lastNotice[1]); } });

document.addEventListener("DOMContentLoaded", async () => {
  I.apply();
  $("notice").setAttribute("tabindex", "-1");
  $("t-completed").value = new Date().toISOString().slice(0, 10);
  const who = await I.api("GET", "/api/me");
  if (who.status === 200) { self = who.data.username; }
  const words = await I.api("GET", "/api/vocabularies");
  if (words.status === 200) { vocab = words.data.vocabularies; }
  await load();
});
