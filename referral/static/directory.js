// The coordinator's page for the referral directory: list, edit, add, delete entries.
// Every unsafe request sends X-Jourchatt-CSRF (the session cookie is SameSite=Strict too).
"use strict";

const $ = (id) => document.getElementById(id);
const CSRF = {"X-Jourchatt-CSRF": "1"};
let version = null;
let current = null;      // id of the service in the editor, or null for a new one

function say(text, errors) {
  $("status").textContent = text;
  const list = $("errors");
  list.replaceChildren(...(errors || []).map((e) => {
    const li = document.createElement("li");
    li.textContent = e;
    return li;
  }));
}

async function api(method, path, body, headers) {
  const r = await fetch(path, {
    method, credentials: "same-origin",
    headers: {...(body !== undefined ? {"Content-Type": "application/json"} : {}), ...CSRF, ...(headers || {})},
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  return {status: r.status, data};
}

async function load() {
  const me = await api("GET", "/api/me");
  if (me.status === 401) { $("login").hidden = false; $("editor").hidden = true; return; }
  if (!me.data.roles.includes("coordinator") && !me.data.roles.includes("admin")) {
    say("Bara samordnare kan ändra katalogen. / Only coordinators can edit the directory.");
    return;
  }
  $("login").hidden = true;
  const d = await api("GET", "/api/referrals/directory");
  version = d.data.version;
  $("version").textContent = version;
  $("services").replaceChildren(...d.data.services.map((s) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = `${s.name} (${s.id})`;
    b.dataset.id = s.id;
    b.addEventListener("click", () => edit(s));
    li.append(b);
    return li;
  }));
  $("editor").hidden = false;
}

function edit(service) {
  current = service ? service.id : null;
  $("body").value = JSON.stringify(service || {
    id: "", kind: "counselling", name: "", organisation: "",
    description: {sv: "", en: ""}, contact: {web: "https://"}, hours: {sv: "", en: ""},
    languages: ["sv"], anonymous: true, eligibility: [{}],
  }, null, 2);
  $("delete").hidden = !service;
  $("entry").hidden = false;
  say("");
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const r = await api("POST", "/api/login", {username: $("username").value, password: $("password").value,
                                             otp: $("otp").value});
  $("password").value = ""; $("otp").value = "";
  if (r.status === 429) { say("För många försök; vänta en stund. / Too many attempts; wait a while."); return; }
  if (r.status !== 200) { say("Fel användarnamn, lösenord eller kod. / Wrong username, password or code."); return; }
  if (r.data.second_factor !== "enabled" || r.data.password_change) { window.location.assign("/login"); return; }
  await load();
});

$("new").addEventListener("click", () => edit(null));

$("entry").addEventListener("submit", async (event) => {
  event.preventDefault();
  let body;
  try { body = JSON.parse($("body").value); } catch (e) {
    say("Det är inte giltig JSON. / That is not valid JSON.", [String(e.message)]);
    return;
  }
  const id = current || body.id;
  if (!id) { say("Ange ett id. / Give an id."); return; }
  const r = await api("PUT", `/api/referrals/directory/${encodeURIComponent(id)}`, body,
                      {"If-Match": String(version)});
  if (r.status === 200 || r.status === 201) {
    say(`Sparat, version ${r.data.version}. / Saved.`);
    await load();
    current = id;
    $("status").dataset.result = "saved";
  } else {
    say(`${r.data.error}: ${r.data.detail}`, r.data.errors);
    $("status").dataset.result = r.data.error;
  }
});

$("delete").addEventListener("click", async () => {
  if (!current || !confirm(`Ta bort ${current}? / Delete ${current}?`)) return;
  const r = await api("DELETE", `/api/referrals/directory/${encodeURIComponent(current)}`);
  if (r.status === 200) { say(`Borttaget. / Deleted.`); $("entry").hidden = true; current = null; await load(); }
  else say(`${r.data.error}: ${r.data.detail}`, r.data.errors);
});

load();
