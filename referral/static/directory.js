// The coordinator's page for the referral directory: search the services, edit one in a form
// (names, descriptions per language, contact, hours, eligibility with pickers), add, delete,
// and export/import JSON for bulk changes. The server checks every change (referral/directory.py)
// and its 422 names each error's place ("service[3] x: eligibility[0].min_age: ..."); the form
// shows the error at that field. Labels come from GET /api/vocabularies, never codes.
// Every unsafe request sends X-Jourchatt-CSRF (the session cookie is SameSite=Strict too).
// An ES module: its texts, Swedish first and English second, go into the staff pages' one
// translation table (/static/i18n.js), whose #lang control switches the page.
import { t, add, apply, lang } from "/static/i18n.js";
import { loginHref } from "/static/shell.js";

const $ = (id) => document.getElementById(id);
const CSRF = {"X-Jourchatt-CSRF": "1"};
const CONTACT = ["phone", "sms", "email", "web", "chat", "address"];
// What each field's error means, in words a coordinator reads (the server's text is the fallback).
const ADVICE = {
  id: "adv_id", kind: "adv_kind", name: "adv_name", organisation: "adv_max120",
  description: "adv_text_sv", "description.sv": "adv_text_sv", "description.en": "adv_max600",
  hours: "adv_hours", "hours.sv": "adv_text_sv", "hours.en": "adv_max600",
  contact: "adv_contact", languages: "adv_languages", rank: "adv_rank",
  min_age: "adv_age", max_age: "adv_age", below_age: "adv_age",
  roles: "adv_roles", municipalities: "adv_municipalities", districts: "adv_districts", service: "adv_service",
};

add({
  page_title: "Hänvisningskatalogen – jourchatt", heading: "Hänvisningskatalogen",
  intro: "Här finns tjänsterna som volontärerna kan hänvisa till. Välj en tjänst för att ändra den, eller lägg till en ny. Varje ändring kontrolleras innan den sparas och gäller direkt i alla chattar.",
  version: "Version {v}.", services_title: "Tjänster", search: "Sök bland tjänsterna", new_service: "Ny tjänst",
  bulk: "Exportera eller importera (JSON)",
  bulk_help: "För större ändringar: ladda ner hela katalogen som en JSON-fil, ändra den och läs in den igen. En tjänst i filen ersätter tjänsten med samma id, nya läggs till, och allt sparas på en gång – eller inget, om något är fel.",
  export: "Ladda ner katalogen", replace_all: "Ersätt hela katalogen med filen (tjänster som inte finns i filen tas bort)",
  import: "Läs in en JSON-fil",
  count_of: "{n} av {all} tjänster.", count_none: "Ingen tjänst matchar sökningen.", count_all: "{n} tjänster.",
  not_editor: "Bara samordnare och administratörer kan ändra katalogen.",
  unreadable: "Katalogen gick inte att läsa. Försök igen om en stund.",
  districts_of: "Bara dessa stadsdelar i {place} (inget ikryssat: hela kommunen)", clause: "Villkor {n}",
  min_age: "Från ålder", max_age: "Till och med ålder", roles: "Gäller den som är (inget ikryssat: alla)",
  municipalities: "Bara för den som bor i (inget ikryssat: alla kommuner)", remove_clause: "Ta bort villkor {n}",
  pick_service: "Välj tjänst", deferral: "Lämnar över {n}", defer_service: "Föreslås inte när denna också föreslås",
  below_age: "…och den unga är yngre än (tomt: i alla åldrar)", remove_deferral: "Ta bort överlämning {n}",
  in_sv: "På svenska", in_en: "På engelska (valfritt)", name: "Namn (det den unga ser)", organisation: "Organisation",
  id_label: "Id (kort och unikt, a–z, 0–9 och bindestreck)", id_is: "Id: {id}", kind: "Sorts tjänst",
  description: "Beskrivning", contact: "Kontakt (minst ett sätt)", c_phone: "Telefon", c_sms: "Sms", c_email: "E-post",
  c_web: "Webbplats (https://…)", c_chat: "Chatt (https://…)", c_address: "Besöksadress",
  hours: "Öppettider", always_open: "Alltid öppen", languages: "Språk som talas", shown: "Visas",
  anonymous: "Man kan vara anonym", show_when_closed: "Visas för den unga när chatten är stängd eller full",
  first_when_acute: "Visas först vid akut fara", rank: "Ordning bland träffarna (lägre visas först)",
  who_for: "Vem tjänsten är till för",
  who_for_help: "Tjänsten föreslås när något av villkoren stämmer. Det som lämnas tomt begränsar inte.",
  add_clause: "Lägg till villkor", handover: "Överlämning till en annan tjänst", add_deferral: "Lägg till överlämning",
  save: "Spara ändringarna", add_service: "Lägg till tjänsten", delete: "Ta bort tjänsten",
  as_json: "Avancerat: tjänsten som JSON", read_json: "Läs in i formuläret",
  bad_json: "Det är inte giltig JSON.", json_object: "Skriv en tjänst som ett JSON-objekt.",
  json_read: "JSON inläst i formuläret. Spara för att ändra katalogen.",
  adv_id: "Id: 1–40 tecken av a–z, 0–9 och bindestreck, till exempel stodcentrum-nacka. Det får inte redan finnas.",
  adv_kind: "Välj vilken sorts tjänst det är.", adv_name: "Skriv ett namn, högst 120 tecken.", adv_max120: "Högst 120 tecken.",
  adv_text_sv: "Skriv en text på svenska, högst 600 tecken.", adv_max600: "Högst 600 tecken.",
  adv_hours: "Skriv öppettiderna på svenska, eller kryssa i ”Alltid öppen”.",
  adv_contact: "Fyll i minst ett sätt att nå tjänsten.", adv_languages: "Välj minst ett språk.",
  adv_rank: "Ett heltal från 0 till 1000.", adv_age: "En ålder från 0 till 120, eller tomt.",
  adv_roles: "Välj bland alternativen.", adv_municipalities: "Välj kommuner i listan.",
  adv_districts: "Stadsdelarna måste ligga i en kommun som är vald i samma villkor.",
  adv_service: "Välj en tjänst som finns i katalogen.", adv_https: "Måste vara en adress som börjar med https://.",
  adv_max200: "Högst 200 tecken.", adv_order: "Från-åldern är högre än till-åldern.",
  adv_itself: "En tjänst kan inte lämna över till sig själv.", adv_muni_too: "Välj också kommunen stadsdelarna ligger i.",
  need_emergency: "Katalogen måste ha en tjänst för akut fara (112) som gäller alla.",
  other_broken: "En annan tjänst blir fel av ändringen: {e}",
  not_saved_one: "Tjänsten sparades inte: ett fält behöver ändras.",
  not_saved_n: "Tjänsten sparades inte: {n} fält behöver ändras.", not_saved: "Tjänsten sparades inte.",
  id_taken: "Id:t används redan av {name}. Välj ett annat.", added: "Tjänsten är tillagd.", saved: "Ändringarna är sparade.",
  changed: "Någon annan ändrade katalogen medan du skrev. Dina ändringar finns kvar i formuläret: kontrollera och spara igen.",
  delete_confirm: "Ta bort {name} ur katalogen?", deleted: "{name} är borttagen.",
  file_bad_json: "Filen är inte giltig JSON.", file_no_list: "Filen ska ha en lista av tjänster under \"service\".",
  file_read: "Filen är inläst: {n} tjänster sparade. Katalogen har nu {all} tjänster.",
  file_changed: "Någon annan ändrade katalogen just nu. Läs in filen igen.", number_n: "nummer {n}",
  file_refused: "Filen lästes inte in, inget är ändrat. Det här behöver rättas:",
}, {
  page_title: "Referral directory – jourchatt", heading: "Referral directory",
  intro: "These are the services volunteers can refer to. Pick a service to change it, or add a new one. Every change is checked before it is saved and applies at once in every chat.",
  version: "Version {v}.", services_title: "Services", search: "Search the services", new_service: "New service",
  bulk: "Export or import (JSON)",
  bulk_help: "For larger changes: download the whole directory as a JSON file, change it and read it back in. A service in the file replaces the one with the same id, new ones are added, and everything is saved at once – or nothing, if something is wrong.",
  export: "Download the directory", replace_all: "Replace the whole directory with the file (services not in the file are removed)",
  import: "Read a JSON file",
  count_of: "{n} of {all} services.", count_none: "No service matches the search.", count_all: "{n} services.",
  not_editor: "Only coordinators and admins can change the directory.",
  unreadable: "The directory could not be read. Try again in a while.",
  districts_of: "Only these districts of {place} (none ticked: the whole municipality)", clause: "Condition {n}",
  min_age: "From age", max_age: "Up to and including age", roles: "For those who are (none ticked: everyone)",
  municipalities: "Only for those living in (none ticked: every municipality)", remove_clause: "Remove condition {n}",
  pick_service: "Pick a service", deferral: "Hands over {n}", defer_service: "Not suggested when this one is suggested too",
  below_age: "…and the young person is younger than (empty: at any age)", remove_deferral: "Remove hand-over {n}",
  in_sv: "In Swedish", in_en: "In English (optional)", name: "Name (what the young person sees)", organisation: "Organisation",
  id_label: "Id (short and unique, a–z, 0–9 and hyphens)", id_is: "Id: {id}", kind: "Kind of service",
  description: "Description", contact: "Contact (at least one way)", c_phone: "Phone", c_sms: "Text message", c_email: "E-mail",
  c_web: "Website (https://…)", c_chat: "Chat (https://…)", c_address: "Visiting address",
  hours: "Opening hours", always_open: "Always open", languages: "Languages spoken", shown: "Shown",
  anonymous: "You can stay anonymous", show_when_closed: "Shown to the young person when the chat is closed or full",
  first_when_acute: "Shown first in acute danger", rank: "Order among matches (lower shows first)",
  who_for: "Who the service is for",
  who_for_help: "The service is suggested when any of the conditions fits. What is left empty does not restrict.",
  add_clause: "Add a condition", handover: "Hand-over to another service", add_deferral: "Add a hand-over",
  save: "Save the changes", add_service: "Add the service", delete: "Delete the service",
  as_json: "Advanced: the service as JSON", read_json: "Read into the form",
  bad_json: "That is not valid JSON.", json_object: "Write one service as a JSON object.",
  json_read: "JSON read into the form. Save to change the directory.",
  adv_id: "Id: 1–40 of a–z, 0–9 and hyphens, for example stodcentrum-nacka. It must not exist already.",
  adv_kind: "Pick the kind of service.", adv_name: "Write a name, at most 120 characters.", adv_max120: "At most 120 characters.",
  adv_text_sv: "Write a text in Swedish, at most 600 characters.", adv_max600: "At most 600 characters.",
  adv_hours: "Write the opening hours in Swedish, or tick “Always open”.",
  adv_contact: "Fill in at least one way to reach the service.", adv_languages: "Pick at least one language.",
  adv_rank: "A whole number from 0 to 1000.", adv_age: "An age from 0 to 120, or empty.",
  adv_roles: "Pick among the choices.", adv_municipalities: "Pick municipalities from the list.",
  adv_districts: "The districts must lie in a municipality picked in the same condition.",
  adv_service: "Pick a service that is in the directory.", adv_https: "Must be an address starting with https://.",
  adv_max200: "At most 200 characters.", adv_order: "The lower age is above the upper age.",
  adv_itself: "A service cannot hand over to itself.", adv_muni_too: "Pick the municipality of the districts too.",
  need_emergency: "The directory needs a service for acute danger (112) open to everyone.",
  other_broken: "Another service breaks with this change: {e}",
  not_saved_one: "The service was not saved: one field needs a change.",
  not_saved_n: "The service was not saved: {n} fields need a change.", not_saved: "The service was not saved.",
  id_taken: "That id is used by {name} already. Pick another.", added: "The service is added.", saved: "The changes are saved.",
  changed: "Someone else changed the directory while you wrote. Your changes are still in the form: check and save again.",
  delete_confirm: "Delete {name} from the directory?", deleted: "{name} is deleted.",
  file_bad_json: "The file is not valid JSON.", file_no_list: "The file must hold a list of services under \"service\".",
  file_read: "The file is read: {n} services saved. The directory now has {all} services.",
  file_changed: "Someone else changed the directory just now. Read the file again.", number_n: "number {n}",
  file_refused: "The file was not read, nothing is changed. This needs fixing:",
});

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

const word = (entry) => entry[lang] || entry.sv;
const label = (list, value) => { const w = vocab.vocabularies[list].find((x) => x.value === value); return w ? word(w) : value; };
const place = (code) => label("municipality", code);

// -- the list and the search ------------------------------------------------------------------

function haystack(s) {
  const texts = [s.name, s.organisation, s.id, label("service_kind", s.kind)];
  for (const x of [s.description, s.hours]) texts.push(...Object.values(typeof x === "object" && x ? x : {sv: x || ""}));
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
    ? (shown.length ? t("count_of", {n: shown.length, all: services.length}) : t("count_none"))
    : t("count_all", {n: services.length});
}

// Signed out (or a sign-in not finished: a new password or the second factor still to set up):
// to /login like every staff page, and back here afterwards (login.js takes ?next= for a local path).
async function load() {
  const me = await api("GET", "/api/me");
  if (me.status === 401 || (me.status === 200 && (me.data.second_factor !== "enabled" || me.data.password_change))) {
    window.location.assign(loginHref());
    return;
  }
  if (me.status !== 200) { say(t("unreadable")); return; }
  if (!(me.data.roles || []).some((r) => r === "coordinator" || r === "admin")) {
    say(t("not_editor"));
    return;
  }
  if (!vocab) {
    const v = await api("GET", "/api/vocabularies");
    if (v.status !== 200) { say(t("unreadable")); return; }
    vocab = v.data;
  }
  if (await reload()) $("editor").hidden = false;
}

async function reload() {
  const d = await api("GET", "/api/referrals/directory");
  if (d.status !== 200) { say(t("unreadable")); return false; }
  version = d.data.version;
  services = d.data.services;
  $("version").textContent = t("version", {v: version});
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
      group(`${p}.districts`, t("districts_of", {place: place(m)}),
        el("div", {class: "picks"}, ...vocab.districts[m].map((d) =>
          check(`${p}.districts`, word(d), kept.has(d.value) || districts.has(d.value), d.value))))));
  };
  const box = el("fieldset", {class: "clause", "data-field": p, "data-clause": j},
    el("legend", {text: t("clause", {n: j + 1})}),
    el("div", {class: "ages"},
      input(`${p}.min_age`, t("min_age"), {inputmode: "numeric", value: c.min_age ?? "", size: 4}),
      input(`${p}.max_age`, t("max_age"), {inputmode: "numeric", value: c.max_age ?? "", size: 4})),
    group(`${p}.roles`, t("roles"),
      el("div", {class: "picks"}, ...vocab.vocabularies.role.map((r) =>
        check(`${p}.roles`, word(r), roles.includes(r.value), r.value)))),
    group(`${p}.municipalities`, t("municipalities"),
      el("div", {class: "picks places"}, ...vocab.vocabularies.municipality
        .filter((m) => m.value !== "other")
        .map((m) => check(`${p}.municipalities`, word(m), munis.has(m.value), m.value)))),
    districtBox,
    el("button", {type: "button", class: "link", text: t("remove_clause", {n: j + 1}), onclick: () => {
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
    el("option", {value: "", text: t("pick_service")}),
    ...services.filter((s) => s.id !== current).map((s) => el("option", {value: s.id, text: s.name,
                                                                          selected: s.id === d.service})));
  const row = el("fieldset", {class: "deferral", "data-field": p, "data-deferral": j},
    el("legend", {text: t("deferral", {n: j + 1})}),
    el("div", {class: "field", "data-field": `${p}.service`}, el("label", {for: id, text: t("defer_service")}), pick),
    input(`${p}.below_age`, t("below_age"), {inputmode: "numeric", value: d.below_age ?? "", size: 4}),
    el("button", {type: "button", class: "link", text: t("remove_deferral", {n: j + 1}), onclick: () => row.remove()}));
  return row;
}

function texts(path, legend, value, rows) {
  const given = typeof value === "string" ? {sv: value} : (value || {});
  return group(path, legend,
    input(`${path}.sv`, t("in_sv"), {rows, value: given.sv || "", lang: "sv"}),
    input(`${path}.en`, t("in_en"), {rows, value: given.en || "", lang: "en"}));
}

// The form for service ``s`` (null: a new one; ``fresh``: a new one filled from ``s``).
function edit(s, fresh) {
  current = s && !fresh ? s.id : null;
  const doc = s || {kind: "counselling", anonymous: true, languages: ["sv"], eligibility: [{}]};
  uid = 0; clauseCount = 0; deferCount = 0;
  const langs = new Set(doc.languages || ["sv"]);
  // The languages a service may speak, named in the page's language (GET /api/vocabularies:
  // service_language); a code stored that the list lacks is kept, shown as its code (as every
  // code is for the hour a browser may keep a copy of the vocabularies from before the list).
  const offered = vocab.vocabularies.service_language || [];
  const spoken = [...offered.map((l) => [l.value, word(l)]),
    ...[...langs].filter((x) => !offered.some((l) => l.value === x)).map((x) => [x, x])];
  const form = $("entry");
  form.replaceChildren(
    el("p", {class: "form-error", id: "form-error", tabindex: "-1", hidden: true}),
    input("name", t("name"), {value: doc.name || "", required: true, maxlength: 120}),
    input("organisation", t("organisation"), {value: doc.organisation || "", maxlength: 120}),
    current ? el("p", {class: "hint", text: t("id_is", {id: current})})
      : input("id", t("id_label"), {value: doc.id || "", required: true, maxlength: 40,
                                                                         spellcheck: "false", autocomplete: "off"}),
    (() => {
      const id = `f${++uid}`;
      return el("div", {class: "field", "data-field": "kind"}, el("label", {for: id, text: t("kind")}),
        el("select", {id, "data-path": "kind"}, ...vocab.vocabularies.service_kind.map((k) =>
          el("option", {value: k.value, text: word(k), selected: k.value === doc.kind}))));
    })(),
    texts("description", t("description"), doc.description, 3),
    group("contact", t("contact"), ...CONTACT.map((k) =>
      input(`contact.${k}`, t(`c_${k}`), {value: (doc.contact || {})[k] || "", type: k === "email" ? "email" : "text"}))),
    group("hours", t("hours"),
      check("always_open", t("always_open"), doc.always_open),
      input("hours.sv", t("in_sv"), {rows: 2, value: (typeof doc.hours === "string" ? doc.hours : (doc.hours || {}).sv) || "", lang: "sv"}),
      input("hours.en", t("in_en"), {rows: 2, value: ((doc.hours || {}).en) || "", lang: "en"})),
    group("languages", t("languages"), el("div", {class: "picks"},
      ...spoken.map(([code, name]) => check("languages", name, langs.has(code), code)))),
    group("flags", t("shown"),
      check("anonymous", t("anonymous"), doc.anonymous),
      check("show_when_closed", t("show_when_closed"), doc.show_when_closed),
      check("first_when_acute", t("first_when_acute"), doc.first_when_acute),
      input("rank", t("rank"), {inputmode: "numeric", value: doc.rank ?? 50, size: 5})),
    el("section", {"data-field": "eligibility", class: "eligibility"},
      el("h3", {text: t("who_for")}),
      el("p", {class: "hint", text: t("who_for_help")}),
      el("div", {id: "clauses"}, ...[].concat(doc.eligibility || [{}]).map(clause)),
      el("button", {type: "button", text: t("add_clause"), onclick: () => $("clauses").append(clause({}))})),
    el("section", {"data-field": "defers_to", class: "defers"},
      el("h3", {text: t("handover")}),
      el("div", {id: "deferrals"}, ...(doc.defers_to || []).map((d) => deferral(d))),
      el("button", {type: "button", text: t("add_deferral"),
                    onclick: () => $("deferrals").append(deferral({}))})),
    el("div", {class: "actions"},
      el("button", {type: "submit", class: "primary", text: current ? t("save") : t("add_service")}),
      current && el("button", {type: "button", id: "delete", text: t("delete"), onclick: remove})),
    el("details", {class: "json"},
      el("summary", {text: t("as_json")}),
      el("label", {for: "json", text: "JSON"}),
      el("textarea", {id: "json", rows: 14, spellcheck: false}),
      el("button", {type: "button", text: t("read_json"), onclick: fromJson})));
  form.querySelector("details.json").addEventListener("toggle", (e) => {
    if (e.target.open) $("json").value = JSON.stringify(collect(), null, 2);
  });
  $("entry-title").textContent = current ? s.name : t("new_service");
  $("entry-box").hidden = false;
  renderList();
  $("entry-title").focus();
  say("");
}

function fromJson() {
  let doc;
  try { doc = JSON.parse($("json").value); } catch (e) { say(t("bad_json"), [String(e.message)]); return; }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) { say(t("json_object")); return; }
  if (current) edit({...doc, id: current});
  else edit(doc, true);
  say(t("json_read"));
}

// -- from the form to a service document --------------------------------------------------------

const form = () => $("entry");
const value = (path) => { const x = form().querySelector(`[data-path="${path}"]`); return x ? x.value.trim() : ""; };
const ticked = (path) => [...form().querySelectorAll(`[data-path="${path}"]:checked`)].map((x) => x.value);
const flag = (path) => { const x = form().querySelector(`[data-path="${path}"]`); return !!(x && x.checked); };
const number = (text) => (/^\d+$/.test(text) ? Number(text) : text);   // not a number: the server names the field

function textsOf(path) {
  const out = {};
  for (const l of ["sv", "en"]) if (value(`${path}.${l}`)) out[l] = value(`${path}.${l}`);
  return Object.keys(out).length ? out : undefined;
}

function collect() {
  const doc = {id: current || value("id"), kind: value("kind"), name: value("name")};
  if (value("organisation")) doc.organisation = value("organisation");
  doc.description = textsOf("description") || {};
  doc.contact = {};
  for (const k of CONTACT) if (value(`contact.${k}`)) doc.contact[k] = value(`contact.${k}`);
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
  if (/^contact\.(web|chat)$/.test(path) && /https/.test(message)) return t("adv_https");
  if (/^contact\./.test(path)) return t("adv_max200");
  if (/above max_age/.test(message)) return t("adv_order");
  if (/defer to itself/.test(message)) return t("adv_itself");
  if (/name the municipality/.test(message)) return t("adv_muni_too");
  const key = ADVICE[path] || ADVICE[leaf];
  return key ? t(key) : message;
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
    if (/emergency service/.test(e)) general.push(t("need_emergency"));
    else if (m && Number(m[1]) !== own) general.push(t("other_broken", {e}));
    else general.push(e);
  }
  const first = form().querySelector("[aria-invalid]");
  const n = form().querySelectorAll(".field-error").length;
  say(n ? (n === 1 ? t("not_saved_one") : t("not_saved_n", {n})) : t("not_saved"));
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
    form().querySelector('[data-field="id"] .field-error').textContent = t("id_taken", {name: taken.name});
    return;
  }
  const r = await save(doc);
  if (r.status === 200 || r.status === 201) {
    current = doc.id;
    await reload();
    edit(services.find((s) => s.id === current));
    say(r.status === 201 ? t("added") : t("saved"));
    $("status").dataset.result = "saved";
    return;
  }
  $("status").dataset.result = r.data.error || String(r.status);
  if (r.data.error === "directory_changed") {
    await reload();
    say(t("changed"));
    return;
  }
  showErrors(r.data);
}

async function remove() {
  const s = services.find((x) => x.id === current);
  if (!s || !confirm(t("delete_confirm", {name: s.name}))) return;
  const r = await api("DELETE", `/api/referrals/directory/${encodeURIComponent(current)}`);
  if (r.status === 200) {
    current = null;
    $("entry-box").hidden = true;
    await reload();
    say(t("deleted", {name: s.name}));
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
  try { doc = JSON.parse(await file.text()); } catch (e) { say(t("file_bad_json"), [String(e.message)]); return; }
  const list = Array.isArray(doc) ? doc : doc && doc.service;
  if (!Array.isArray(list) || !list.length) { say(t("file_no_list")); return; }
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
  if (r.status === 200) { say(t("file_read", {n: list.length, all: r.data.services})); return; }
  if (r.data.error === "directory_changed") { say(t("file_changed")); return; }
  const name = (i) => (merged[i] && (merged[i].name || merged[i].id)) || t("number_n", {n: i + 1});
  say(t("file_refused"),
      (r.data.errors || [r.data.detail || r.data.error]).map((e) =>
        e.replace(/^service\[(\d+)\](?: [^:]*)?: /, (_, i) => `${name(Number(i))}: `)));
}

// -- wiring -----------------------------------------------------------------------------------

$("new").addEventListener("click", () => edit(null));
$("entry").addEventListener("submit", submit);
$("search").addEventListener("input", renderList);
$("export").addEventListener("click", exportAll);
$("import").addEventListener("change", importFile);
// Another language: the page's own texts, the list and the open form redrawn (what was typed stays).
document.addEventListener("langchange", () => {
  if (version !== null) $("version").textContent = t("version", {v: version});
  if (!vocab) return;
  renderList();
  if (!$("entry-box").hidden) {
    const doc = collect();
    edit(current ? {...doc, name: doc.name || current} : doc, !current);
  }
});

apply();
load();
