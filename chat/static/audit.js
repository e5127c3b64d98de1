/* /admin's audit-log viewer: who did what and when (GET /api/admin/audit), filtered by account and action,
 * newest first, a page at a time (the server pages by id: "before" the last row seen). Never chat text:
 * the log holds only fixed action words and ids, shown here with account names and plain labels. */
import * as I from "./i18n.js";

I.add({
  audit_title: "Granskningslogg", audit_account: "Konto", audit_action: "Händelse", audit_show: "Visa",
  audit_when: "Tid", audit_who: "Konto", audit_subject: "Gällde", audit_newer: "Nyare", audit_older: "Äldre",
  audit_intro: "Vem gjorde vad och när: konton, utbildning, handledares ingrepp i chattar, export av statistik och ändrade inställningar. Aldrig vad någon skrev.",
  audit_all_accounts: "Alla konton", audit_all_actions: "Alla händelser", audit_cli: "kommandoraden",
  audit_caption: "Sida {p}, nyaste först.", audit_none: "Inga händelser matchar urvalet.",
  audit_chat: "en chatt", audit_period: "perioden {s}",
  "act_account.create": "Skapade ett konto", "act_account.disable": "Stängde av ett konto",
  "act_account.enable": "Aktiverade ett konto", "act_account.reset": "Återställde ett konto",
  "act_account.role": "Ändrade roll",
  "act_account.role_despite_shifts": "Gav en praktikant en volontärroll före alla följda pass", "act_training.record": "Registrerade utbildning",
  "act_chat.observe": "Observerade en chatt", "act_chat.whisper": "Viskade i en chatt",
  "act_chat.join": "Anslöt till en chatt", "act_chat.takeover": "Tog över en chatt",
  "act_chat.transfer": "Flyttade en chatt", "act_chat.end": "Avslutade en chatt", "act_visitor.block": "Spärrade en besökare",
  "act_hours.update": "Ändrade öppettiderna", "act_snippets.update": "Ändrade standardsvaren",
  "act_directory.update": "Ändrade hänvisningskatalogen", "act_directory.load": "Läste in hänvisningskatalogen",
  "act_partner.add": "Lade till en partner", "act_partnership.update": "Ändrade ett partnerskap",
  "act_stats.export": "Exporterade statistik", "act_stats.view": "Visade statistik",
}, {
  audit_title: "Audit log", audit_account: "Account", audit_action: "Event", audit_show: "Show",
  audit_when: "Time", audit_who: "Account", audit_subject: "Concerned", audit_newer: "Newer", audit_older: "Older",
  audit_intro: "Who did what and when: accounts, training, supervisors stepping into chats, statistics exports and changed settings. Never what anyone wrote.",
  audit_all_accounts: "All accounts", audit_all_actions: "All events", audit_cli: "the command line",
  audit_caption: "Page {p}, newest first.", audit_none: "No events match the selection.",
  audit_chat: "a chat", audit_period: "the period {s}",
  "act_account.create": "Created an account", "act_account.disable": "Disabled an account",
  "act_account.enable": "Enabled an account", "act_account.reset": "Reset an account",
  "act_account.role": "Changed a role",
  "act_account.role_despite_shifts": "Gave a trainee a chat role before all shadowed shifts", "act_training.record": "Recorded training",
  "act_chat.observe": "Observed a chat", "act_chat.whisper": "Whispered in a chat",
  "act_chat.join": "Joined a chat", "act_chat.takeover": "Took over a chat",
  "act_chat.transfer": "Moved a chat", "act_chat.end": "Ended a chat", "act_visitor.block": "Blocked a visitor",
  "act_hours.update": "Changed the opening hours", "act_snippets.update": "Changed the canned replies",
  "act_directory.update": "Changed the referral directory", "act_directory.load": "Loaded the referral directory",
  "act_partner.add": "Added a partner", "act_partnership.update": "Changed a partnership",
  "act_stats.export": "Exported statistics", "act_stats.view": "Viewed statistics",
});

const $ = (id) => document.getElementById(id);
let started = false;
let cursors = [null];        /* the "before" of every page seen; the last is the page shown */
let older = null;
let rows = [];
let actions = [];

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { e.setAttribute(k, v); }
  if (text !== undefined) { e.textContent = text; }
  return e;
}

function actionLabel(a) { return I.has("act_" + a) ? I.t("act_" + a) : a.replace(/[._]/g, " "); }

function subject(r) {
  if (r.subject_account) { return r.subject_account; }
  if (r.action.startsWith("chat.") || r.action === "visitor.block") { return I.t("audit_chat"); }
  if (r.action.startsWith("stats.") && r.subject.includes("/")) { return I.t("audit_period", { s: r.subject.replace("/", " – ") }); }
  return r.subject || "—";
}

function render() {
  const body = $("audit-rows");
  body.textContent = "";
  for (const r of rows) {
    const tr = el("tr");
    const when = new Date(r.at);
    tr.append(el("td", {}, when.toLocaleString(I.lang === "en" ? "en-GB" : "sv-SE")),
      el("td", {}, r.actor === "cli" ? I.t("audit_cli") : r.actor), el("td", {}, actionLabel(r.action)),
      el("td", {}, subject(r)));
    body.append(tr);
  }
  $("audit-caption").textContent = rows.length ? I.t("audit_caption", { p: cursors.length, n: rows.length }) : I.t("audit_none");
  $("audit-newer").disabled = cursors.length < 2;
  $("audit-older").disabled = older === null;
  const sel = $("a-action"), chosen = sel.value;
  sel.textContent = "";
  sel.append(el("option", { value: "" }, I.t("audit_all_actions")));
  for (const a of actions) { sel.append(el("option", { value: a }, actionLabel(a))); }
  sel.value = chosen;
  const first = $("a-account").querySelector("option[value='']");
  if (first) { first.textContent = I.t("audit_all_accounts"); }
}

async function show() {
  const q = new URLSearchParams();
  if ($("a-account").value) { q.set("account", $("a-account").value); }
  if ($("a-action").value) { q.set("action", $("a-action").value); }
  const before = cursors[cursors.length - 1];
  if (before) { q.set("before", String(before)); }
  const res = await I.api("GET", "/api/admin/audit?" + q.toString());
  if (res.status !== 200) { $("audit-caption").textContent = res.data.detail || I.t("audit_none"); return; }
  rows = res.data.entries; older = res.data.next_before; actions = res.data.actions;
  render();
}

/* Called with the account list at every (re)load of /admin: fills the account filter, shows the newest page. */
export function startAudit(accounts) {
  const sel = $("a-account"), chosen = sel.value;
  sel.textContent = "";
  sel.append(el("option", { value: "" }, I.t("audit_all_accounts")));
  for (const a of accounts) { sel.append(el("option", { value: a.username }, a.username + " – " + a.display_name)); }
  sel.value = chosen;
  cursors = [null];
  show();
  if (started) { return; }
  started = true;
  $("form-audit").addEventListener("submit", (ev) => { ev.preventDefault(); cursors = [null]; show(); });
  $("audit-older").addEventListener("click", () => { if (older !== null) { cursors.push(older); show(); } });
  $("audit-newer").addEventListener("click", () => { if (cursors.length > 1) { cursors.pop(); show(); } });
  document.addEventListener("langchange", render);
}
