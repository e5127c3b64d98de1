// The coordinator's page for the referral directory: search the services, edit one in a form
// (names, descriptions per language, contact, hours, eligibility with pickers), add, delete,
// and export/import JSON for bulk changes. The server checks every change (referral/directory.py)
// and its 422 names each error's place ("service[3] x: eligibility[0].min_age: ..."); the form
// shows the error at that field. Labels come from GET /api/vocabularies, never codes.
// Every unsafe request sends X-Jourchatt-CSRF (the session cookie is SameSite=Strict too).
"use strict";

const $ = (id) => document.getElementById(id);
const CSRF = {"X-Jourchatt-CSRF": "1"};
const CONTACT = [["phone", "Telefon"], ["sms", "Sms"], ["email", "E-post"], ["web", "Webbplats (https://…)"],
                 ["chat", "Chatt (https://…)"], ["address", "Besöksadress"]];
// Languages a service may speak, by their Swedish names; a code stored that is not here is kept.
const SPOKEN = [["sv", "svenska"], ["en", "engelska"], ["ar", "arabiska"], ["fa", "persiska"], ["so", "somaliska"],
                ["ti", "tigrinja"], ["tr", "turkiska"], ["ku", "kurdiska"], ["fi", "finska"], ["pl", "polska"],
                ["uk", "ukrainska"], ["ru", "ryska"], ["es", "spanska"], ["de", "tyska"], ["fr", "franska"]];
// What each field's error means, in words a coordinator reads (the server's text is the fallback).
const ADVICE = {
  id: "Id: 1–40 tecken av a–z, 0–9 och bindestreck, till exempel stodcentrum-nacka. Det får inte redan finnas.",
  kind: "Välj vilken sorts tjänst det är.",
  name: "Skriv ett namn, högst 120 tecken.",
  organisation: "Högst 120 tecken.",
  description: "Skriv en beskrivning på svenska, högst 600 tecken.",
  "description.sv": "Skriv en beskrivning på svenska, högst 600 tecken.",
  "description.en": "Högst 600 tecken.",
  hours: "Skriv öppettiderna på svenska, eller kryssa i ”Alltid öppen”.",
  "hours.sv": "Skriv öppettiderna på svenska, högst 600 tecken.",
  "hours.en": "Högst 600 tecken.",
  contact: "Fyll i minst ett sätt att nå tjänsten.",
  languages: "Välj minst ett språk.",
  rank: "Ett heltal från 0 till 1000.",
  min_age: "En ålder från 0 till 120, eller tomt.",
  max_age: "En ålder från 0 till 120, eller tomt.",
  roles: "Välj bland alternativen.",
  municipalities: "Välj kommuner i listan.",
  districts: "Stadsdelarna måste ligga i en kommun som är vald i samma villkor.",
  service: "Välj en tjänst som finns i katalogen.",
  below_age: "En ålder från 0 till 120, eller tomt.",
};

let version = null;
let services = [];        // the directory's documents, in its order
let current = null;       // id of the service in the form, or null for a new one
let vocab = null;         // GET /api/vocabularies
let clauseCount = 0;
let deferCount = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "text") node.textContent = v;
    else if (k === "value") node.value = String(v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function say(text, errors) {
  $("status").textContent = text;
  $("errors").replaceChildren(...(errors || []).map((e) => el("li", {text: e})));
}

async function api(method, path, body, headers) {
  const r = await fetch(path, {
    method, credentials: "same-origin",
    headers: {...(body !== undefined ? {"Content-Type": "application/json"} : {}), ...CSRF, ...(headers || {})},
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  return {status: r.status, data: data || {}};
}

const label = (list, value) => (vocab.vocabularies[list].find((w) => w.value === value) || {}).sv || value;
const place = (code) => label("municipality", code);

// -- the list and the search ------------------------------------------------------------------

function haystack(s) {
  const texts = [s.name, s.organisation, s.id, label("service_kind", s.kind)];
  for (const t of [s.description, s.hours]) texts.push(...Object.values(typeof t === "object" && t ? t : {sv: t || ""}));
  for (const c of [].concat(s.eligibility || [])) texts.push(...(c.municipalities || []).map(place));
  return texts.join(" ").toLowerCase();
}

function renderList() {
  const words = $("search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = services.filter((s) => words.every((w) => haystack(s).includes(w)));
  $("services").replaceChildren(...shown.map((s) => el("li", {},
    el("button", {type: "button", class: "service", "data-id": s.id, "aria-current": s.id === current ? "true" : false,
                  onclick: () => edit(s)},
      el("span", {class: "name", text: s.name}),
      el("span", {class: "kind", text: [label("service_kind", s.kind), s.organisation].filter(Boolean).join(" · ")})))));
  $("search-count").textContent = words.length
    ? (shown.length ? `${shown.length} av ${services.length} tjänster.` : "Ingen tjänst matchar sökningen.")
    : `${services.length} tjänster.`;
}

async function load() {
  const me = await api("GET", "/api/me");
  if (me.status === 401) { $("login").hidden = false; $("editor").hidden = true; return; }
  if (!(me.data.roles || []).some((r) => r === "coordinator" || r === "admin")) {
    say("Bara samordnare och administratörer kan ändra katalogen.");
    return;
  }
  $("login").hidden = true;
  if (!vocab) vocab = (await api("GET", "/api/vocabularies")).data;
  await reload();
  $("editor").hidden = false;
}

async function reload() {
  const d = await api("GET", "/api/referrals/directory");
  if (d.status !== 200) { say("Katalogen gick inte att läsa. Försök igen om en stund."); return false; }
  version = d.data.version;
  services = d.data.services;
  $("version").textContent = version;
  renderList();
  return true;
}

// -- the form ---------------------------------------------------------------------------------

let uid = 0;
function input(path, text, attrs) {
  const id = `f${++uid}`;
  const box = el(attrs && attrs.rows ? "textarea" : "input", {id, "data-path": path, ...attrs});
  return el("div", {class: "field", "data-field": path}, el("label", {for: id, text}), box);
}

function check(path, text, checked, value) {
  const id = `f${++uid}`;
  return el("div", {class: "check"},
    el("input", {id, type: "checkbox", "data-path": path, value: value || "on", checked: !!checked}),
    el("label", {for: id, text}));
}

function group(path, legend, ...children) {
  return el("fieldset", {"data-field": path}, el("legend", {text: legend}), ...children);
}

function clause(c) {
  const j = clauseCount++;
  const p = `eligibility[${j}]`;
  const roles = (c.roles || []);
  const munis = new Set(c.municipalities || []);
  const districts = new Set(c.districts || []);
  const districtBox = el("div", {class: "districts"});
  const drawDistricts = () => {
    const chosen = [...box.querySelectorAll(`[data-path="${p}.municipalities"]:checked`)].map((x) => x.value);
    const kept = new Set([...districtBox.querySelectorAll("input:checked")].map((x) => x.value));
    districtBox.replaceChildren(...chosen.filter((m) => vocab.districts[m]).map((m) =>
      group(`${p}.districts`, `Bara dessa stadsdelar i ${place(m)} (inget ikryssat: hela kommunen)`,
        el("div", {class: "picks"}, ...vocab.districts[m].map((d) =>
          check(`${p}.districts`, d.sv, kept.has(d.value) || districts.has(d.value), d.value))))));
  };
  const box = el("fieldset", {class: "clause", "data-field": p, "data-clause": j},
    el("legend", {text: `Villkor ${j + 1}`}),
    el("div", {class: "ages"},
      input(`${p}.min_age`, "Från ålder", {inputmode: "numeric", value: c.min_age ?? "", size: 4}),
      input(`${p}.max_age`, "Till och med ålder", {inputmode: "numeric", value: c.max_age ?? "", size: 4})),
    group(`${p}.roles`, "Gäller den som är (inget ikryssat: alla)",
      el("div", {class: "picks"}, ...vocab.vocabularies.role.map((r) =>
        check(`${p}.roles`, r.sv, roles.includes(r.value), r.value)))),
    group(`${p}.municipalities`, "Bara för den som bor i (inget ikryssat: alla kommuner)",
      el("div", {class: "picks places"}, ...vocab.vocabularies.municipality
        .filter((m) => m.value !== "other")
        .map((m) => check(`${p}.municipalities`, m.sv, munis.has(m.value), m.value)))),
    districtBox,
    el("button", {type: "button", class: "link", text: `Ta bort villkor ${j + 1}`, onclick: () => {
      box.remove();
      if (!$("clauses").children.length) $("clauses").append(clause({}));
    }}));
  box.addEventListener("change", (e) => { if (e.target.dataset.path === `${p}.municipalities`) drawDistricts(); });
  drawDistricts();
  return box;
}

function deferral(d) {
  const j = deferCount++;
  const p = `defers_to[${j}]`;
  const id = `f${++uid}`;
  const pick = el("select", {id, "data-path": `${p}.service`},
    el("option", {value: "", text: "Välj tjänst"}),
    ...services.filter((s) => s.id !== current).map((s) => el("option", {value: s.id, text: s.name,
                                                                          selected: s.id === d.service})));
  const row = el("fieldset", {class: "deferral", "data-field": p, "data-deferral": j},
    el("legend", {text: `Lämnar över ${j + 1}`}),
    el("div", {class: "field", "data-field": `${p}.service`}, el("label", {for: id, text: "Föreslås inte när denna också föreslås"}), pick),
    input(`${p}.below_age`, "…och den unga är yngre än (tomt: i alla åldrar)", {inputmode: "numeric", value: d.below_age ?? "", size: 4}),
    el("button", {type: "button", class: "link", text: `Ta bort överlämning ${j + 1}`, onclick: () => row.remove()}));
  return row;
}

function texts(path, legend, value, rows) {
  const t = typeof value === "string" ? {sv: value} : (value || {});
  return group(path, legend,
    input(`${path}.sv`, "På svenska", {rows, value: t.sv || "", lang: "sv"}),
    input(`${path}.en`, "På engelska (valfritt)", {rows, value: t.en || "", lang: "en"}));
}

// The form for service ``s`` (null: a new one; ``fresh``: a new one filled from ``s``).
function edit(s, fresh) {
  current = s && !fresh ? s.id : null;
  const doc = s || {kind: "counselling", anonymous: true, languages: ["sv"], eligibility: [{}]};
  uid = 0; clauseCount = 0; deferCount = 0;
  const langs = new Set(doc.languages || ["sv"]);
  const spoken = [...SPOKEN, ...[...langs].filter((x) => !SPOKEN.some(([c]) => c === x)).map((x) => [x, x])];
  const form = $("entry");
  form.replaceChildren(
    el("p", {class: "form-error", id: "form-error", tabindex: "-1", hidden: true}),
    input("name", "Namn (det den unga ser)", {value: doc.name || "", required: true, maxlength: 120}),
    input("organisation", "Organisation", {value: doc.organisation || "", maxlength: 120}),
    current ? el("p", {class: "hint", text: `Id: ${current}`})
      : input("id", "Id (kort och unikt, a–z, 0–9 och bindestreck)", {value: doc.id || "", required: true, maxlength: 40,
                                                                         spellcheck: "false", autocomplete: "off"}),
    (() => {
      const id = `f${++uid}`;
      return el("div", {class: "field", "data-field": "kind"}, el("label", {for: id, text: "Sorts tjänst"}),
        el("select", {id, "data-path": "kind"}, ...vocab.vocabularies.service_kind.map((k) =>
          el("option", {value: k.value, text: k.sv, selected: k.value === doc.kind}))));
    })(),
    texts("description", "Beskrivning", doc.description, 3),
    group("contact", "Kontakt (minst ett sätt)", ...CONTACT.map(([k, t]) =>
      input(`contact.${k}`, t, {value: (doc.contact || {})[k] || "", type: k === "email" ? "email" : "text"}))),
    group("hours", "Öppettider",
      check("always_open", "Alltid öppen", doc.always_open),
      input("hours.sv", "På svenska", {rows: 2, value: (typeof doc.hours === "string" ? doc.hours : (doc.hours || {}).sv) || "", lang: "sv"}),
      input("hours.en", "På engelska (valfritt)", {rows: 2, value: ((doc.hours || {}).en) || "", lang: "en"})),
    group("languages", "Språk som talas", el("div", {class: "picks"},
      ...spoken.map(([code, name]) => check("languages", name, langs.has(code), code)))),
    group("flags", "Visas",
      check("anonymous", "Man kan vara anonym", doc.anonymous),
      check("show_when_closed", "Visas för den unga när chatten är stängd eller full", doc.show_when_closed),
      check("first_when_acute", "Visas först vid akut fara", doc.first_when_acute),
      input("rank", "Ordning bland träffarna (lägre visas först)", {inputmode: "numeric", value: doc.rank ?? 50, size: 5})),
    el("section", {"data-field": "eligibility", class: "eligibility"},
      el("h3", {text: "Vem tjänsten är till för"}),
      el("p", {class: "hint", text: "Tjänsten föreslås när något av villkoren stämmer. Det som lämnas tomt begränsar inte."}),
      el("div", {id: "clauses"}, ...[].concat(doc.eligibility || [{}]).map(clause)),
      el("button", {type: "button", text: "Lägg till villkor", onclick: () => $("clauses").append(clause({}))})),
    el("section", {"data-field": "defers_to", class: "defers"},
      el("h3", {text: "Överlämning till en annan tjänst"}),
      el("div", {id: "deferrals"}, ...(doc.defers_to || []).map((d) => deferral(d))),
      el("button", {type: "button", text: "Lägg till överlämning",
                    onclick: () => $("deferrals").append(deferral({}))})),
    el("div", {class: "actions"},
      el("button", {type: "submit", class: "primary", text: current ? "Spara ändringarna" : "Lägg till tjänsten"}),
      current && el("button", {type: "button", id: "delete", text: "Ta bort tjänsten", onclick: remove})),
    el("details", {class: "json"},
      el("summary", {text: "Avancerat: tjänsten som JSON"}),
      el("label", {for: "json", text: "JSON"}),
      el("textarea", {id: "json", rows: 14, spellcheck: false}),
      el("button", {type: "button", text: "Läs in i formuläret", onclick: fromJson})));
  form.querySelector("details.json").addEventListener("toggle", (e) => {
    if (e.target.open) $("json").value = JSON.stringify(collect(), null, 2);
  });
  $("entry-title").textContent = current ? s.name : "Ny tjänst";
  $("entry-box").hidden = false;
  renderList();
  $("entry-title").focus();
  say("");
}

function fromJson() {
  let doc;
  try { doc = JSON.parse($("json").value); } catch (e) { say("Det är inte giltig JSON.", [String(e.message)]); return; }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) { say("Skriv en tjänst som ett JSON-objekt."); return; }
  if (current) edit({...doc, id: current});
  else edit(doc, true);
  say("JSON inläst i formuläret. Spara för att ändra katalogen.");
}

// -- from the form to a service document --------------------------------------------------------

const form = () => $("entry");
const value = (path) => { const x = form().querySelector(`[data-path="${path}"]`); return x ? x.value.trim() : ""; };
const ticked = (path) => [...form().querySelectorAll(`[data-path="${path}"]:checked`)].map((x) => x.value);
const flag = (path) => { const x = form().querySelector(`[data-path="${path}"]`); return !!(x && x.checked); };
const number = (text) => (/^\d+$/.test(text) ? Number(text) : text);   // not a number: the server names the field

function textsOf(path) {
  const out = {};
  for (const lang of ["sv", "en"]) if (value(`${path}.${lang}`)) out[lang] = value(`${path}.${lang}`);
  return Object.keys(out).length ? out : undefined;
}

function collect() {
  const doc = {id: current || value("id"), kind: value("kind"), name: value("name")};
  if (value("organisation")) doc.organisation = value("organisation");
  doc.description = textsOf("description") || {};
  doc.contact = {};
  for (const [k] of CONTACT) if (value(`contact.${k}`)) doc.contact[k] = value(`contact.${k}`);
  if (flag("always_open")) doc.always_open = true;
  const hours = textsOf("hours");
  if (hours) doc.hours = hours;
  doc.languages = ticked("languages");
  doc.anonymous = flag("anonymous");
  for (const f of ["show_when_closed", "first_when_acute"]) if (flag(f)) doc[f] = true;
  if (value("rank") !== "") doc.rank = number(value("rank"));
  doc.eligibility = [...form().querySelectorAll("fieldset.clause")].map((box) => {
    const p = `eligibility[${box.dataset.clause}]`;
    const c = {};
    for (const k of ["min_age", "max_age"]) if (value(`${p}.${k}`) !== "") c[k] = number(value(`${p}.${k}`));
    for (const k of ["roles", "municipalities", "districts"]) if (ticked(`${p}.${k}`).length) c[k] = ticked(`${p}.${k}`);
    return c;
  });
  const defers = [...form().querySelectorAll("fieldset.deferral")].map((row) => {
    const p = `defers_to[${row.dataset.deferral}]`;
    const d = {service: value(`${p}.service`)};
    if (value(`${p}.below_age`) !== "") d.below_age = number(value(`${p}.below_age`));
    return d;
  });
  if (defers.length) doc.defers_to = defers;
  return doc;
}

// -- errors at their fields -------------------------------------------------------------------

function clearErrors() {
  for (const x of form().querySelectorAll(".field-error")) x.remove();
  for (const x of form().querySelectorAll("[aria-invalid]")) { x.removeAttribute("aria-invalid"); x.removeAttribute("aria-describedby"); }
  $("form-error").hidden = true;
}

// The form's index in the server's list: the position of the service, or last for a new one.
function ownIndex() {
  const i = services.findIndex((s) => s.id === current);
  return i >= 0 ? i : services.length;
}

// The form's paths number clauses and deferrals by their fieldsets; the server counts them in order.
function formPath(path) {
  return path.replace(/^(eligibility|defers_to)\[(\d+)\]/, (whole, list, n) => {
    const boxes = form().querySelectorAll(list === "eligibility" ? "fieldset.clause" : "fieldset.deferral");
    const box = boxes[Number(n)];
    return box ? `${list}[${box.dataset[list === "eligibility" ? "clause" : "deferral"]}]` : whole;
  });
}

function advice(path, message) {
  const leaf = path.replace(/^.*\]\./, "").replace(/^(eligibility|defers_to)\[\d+\]$/, "");
  if (/^contact\.(web|chat)$/.test(path) && /https/.test(message)) return "Måste vara en adress som börjar med https://.";
  if (/^contact\./.test(path)) return "Högst 200 tecken.";
  if (/above max_age/.test(message)) return "Från-åldern är högre än till-åldern.";
  if (/defer to itself/.test(message)) return "En tjänst kan inte lämna över till sig själv.";
  if (/name the municipality/.test(message)) return "Välj också kommunen stadsdelarna ligger i.";
  return ADVICE[path] || ADVICE[leaf] || message;
}

function showAt(path, message) {
  const at = form().querySelector(`[data-field="${formPath(path)}"]`);
  if (!at) return false;
  const note = el("p", {class: "field-error", id: `err-${Math.random().toString(36).slice(2, 8)}`, text: advice(path, message)});
  at.append(note);
  const box = at.matches("input, select, textarea") ? at : at.querySelector("input, select, textarea");
  // aria-describedby (read with the field by every screen reader), the message beside the field.
  if (box) { box.setAttribute("aria-invalid", "true"); box.setAttribute("aria-describedby", note.id); }
  return true;
}

function showErrors(data) {
  clearErrors();
  const general = [];
  const own = ownIndex();
  const list = data.errors && data.errors.length ? data.errors : [data.detail || data.error];
  const ownId = collect().id;
  for (const e of list) {
    const m = /^service\[(\d+)\](?: [^:]*)?: (.*)$/.exec(e);
    // While this service has errors the server leaves it out, so others that defer to it "miss" it: noise.
    if (m && Number(m[1]) !== own && e.endsWith(`no service has id '${ownId}'`)) continue;
    const rest = m ? (Number(m[1]) === own ? m[2] : null) : e;
    const field = rest && /^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+)?): (.*)$/.exec(rest);
    if (field && showAt(field[1], field[2])) continue;
    if (/emergency service/.test(e)) general.push("Katalogen måste ha en tjänst för akut fara (112) som gäller alla.");
    else if (m && Number(m[1]) !== own) general.push(`En annan tjänst blir fel av ändringen: ${e}`);
    else general.push(e);
  }
  const first = form().querySelector("[aria-invalid]");
  const n = form().querySelectorAll(".field-error").length;
  say(n ? `Tjänsten sparades inte: ${n === 1 ? "ett fält behöver" : `${n} fält behöver`} ändras.` : "Tjänsten sparades inte.");
  if (general.length) {
    $("form-error").replaceChildren(...general.map((g) => el("span", {text: g + " "})));
    $("form-error").hidden = false;
  }
  (first || $("form-error")).focus();
}

// -- saving and deleting ----------------------------------------------------------------------

async function save(doc) {
  const id = doc.id;
  if (!id) return {status: 400, data: {error: "invalid_body", detail: "id: must be 1 to 40 of a-z, 0-9 and '-'"}};
  return api("PUT", `/api/referrals/directory/${encodeURIComponent(id)}`, doc, {"If-Match": String(version)});
}

async function submit(event) {
  event.preventDefault();
  const doc = collect();
  const taken = !current && services.find((s) => s.id === doc.id);
  if (taken) {
    showErrors({errors: [`id: ${doc.id}`]});
    form().querySelector('[data-field="id"] .field-error').textContent = `Id:t används redan av ${taken.name}. Välj ett annat.`;
    return;
  }
  const r = await save(doc);
  if (r.status === 200 || r.status === 201) {
    current = doc.id;
    await reload();
    edit(services.find((s) => s.id === current));
    say(r.status === 201 ? "Tjänsten är tillagd." : "Ändringarna är sparade.");
    $("status").dataset.result = "saved";
    return;
  }
  $("status").dataset.result = r.data.error || String(r.status);
  if (r.data.error === "directory_changed") {
    await reload();
    say("Någon annan ändrade katalogen medan du skrev. Dina ändringar finns kvar i formuläret: kontrollera och spara igen.");
    return;
  }
  showErrors(r.data);
}

async function remove() {
  const s = services.find((x) => x.id === current);
  if (!s || !confirm(`Ta bort ${s.name} ur katalogen?`)) return;
  const r = await api("DELETE", `/api/referrals/directory/${encodeURIComponent(current)}`);
  if (r.status === 200) {
    current = null;
    $("entry-box").hidden = true;
    await reload();
    say(`${s.name} är borttagen.`);
    $("search").focus();
  } else {
    showErrors(r.data);
  }
}

// -- bulk: export and import --------------------------------------------------------------------

function exportAll() {
  const blob = new Blob([JSON.stringify({format: 1, version, service: services}, null, 2)], {type: "application/json"});
  const a = el("a", {href: URL.createObjectURL(blob), download: `hanvisningskatalogen-v${version}.json`});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function importFile(event) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  let doc;
  try { doc = JSON.parse(await file.text()); } catch (e) { say("Filen är inte giltig JSON.", [String(e.message)]); return; }
  const list = Array.isArray(doc) ? doc : doc && doc.service;
  if (!Array.isArray(list) || !list.length) { say("Filen ska ha en lista av tjänster under \"service\"."); return; }
  // Merged by id into the directory as it is (new ones last), unless the whole is to be replaced.
  const merged = $("replace-all").checked ? list : [...services];
  if (!$("replace-all").checked) {
    for (const s of list) {
      const i = merged.findIndex((x) => s && x.id === s.id);
      if (i >= 0) merged[i] = s; else merged.push(s);
    }
  }
  const r = await api("PUT", "/api/referrals/directory", {service: merged}, {"If-Match": String(version)});
  await reload();
  if (r.status === 200) { say(`Filen är inläst: ${list.length} tjänster sparade. Katalogen har nu ${r.data.services} tjänster.`); return; }
  if (r.data.error === "directory_changed") { say("Någon annan ändrade katalogen just nu. Läs in filen igen."); return; }
  const name = (i) => (merged[i] && (merged[i].name || merged[i].id)) || `nummer ${i + 1}`;
  say("Filen lästes inte in, inget är ändrat. Det här behöver rättas:",
      (r.data.errors || [r.data.detail || r.data.error]).map((e) =>
        e.replace(/^service\[(\d+)\](?: [^:]*)?: /, (_, i) => `${name(Number(i))}: `)));
}

// -- wiring -----------------------------------------------------------------------------------

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const r = await api("POST", "/api/login", {username: $("username").value, password: $("password").value,
                                             otp: $("otp").value});
  $("password").value = ""; $("otp").value = "";
  if (r.status === 429) { say("För många försök. Vänta en stund."); return; }
  if (r.status !== 200) { say("Fel användarnamn, lösenord eller kod. Koden måste vara en ny kod från appen."); return; }
  if (r.data.second_factor !== "enabled" || r.data.password_change) { window.location.assign("/login"); return; }
  await load();
});
$("new").addEventListener("click", () => edit(null));
$("entry").addEventListener("submit", submit);
$("search").addEventListener("input", renderList);
$("export").addEventListener("click", exportAll);
$("import").addEventListener("change", importFile);

load();
