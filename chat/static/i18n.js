/* Swedish first, English selectable: the one translation table of the staff pages (/login, /admin, /console).
 * The header with the language control is the staff shell (shell.js).
 *
 * An ES module. A page's own module adds its texts with add(sv, en) and reads them with t(key, vars);
 * apply() writes them into every [data-t] (text) and [data-ta] (aria-label). The language control is #lang:
 * a button that toggles (login, admin) or a <select> (console). The choice is kept in localStorage, the
 * only thing these pages store; a change fires "langchange" on the document so a page can redraw what it
 * built itself. The same word goes into the cookie jourchatt_lang ("sv" or "en", nothing else) so the pages
 * the server renders (the dashboard, the printed report) speak it too. (The widget is a classic script
 * embedded on other sites and keeps its own texts.)
 */
const KEY = "jourchatt.lang";
const dicts = { sv: {}, en: {} };

export let lang = "sv";
try { lang = localStorage.getItem(KEY) === "en" ? "en" : "sv"; } catch (e) { /* private mode */ }

export function has(key) { return key in dicts[lang] || key in dicts.sv; }

export function t(key, vars) {
  let s = (dicts[lang] && dicts[lang][key]) || dicts.sv[key] || key;
  if (vars) { for (const k of Object.keys(vars)) { s = s.split("{" + k + "}").join(String(vars[k])); } }
  return s;
}

export function add(sv, en) { Object.assign(dicts.sv, sv); Object.assign(dicts.en, en); }

export function apply() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) { el.textContent = t(el.dataset.t); }
  for (const el of document.querySelectorAll("[data-ta]")) { el.setAttribute("aria-label", t(el.dataset.ta)); }
  const control = document.getElementById("lang");
  if (control && control.tagName === "SELECT") {
    control.value = lang;
  } else if (control) {
    control.textContent = lang === "sv" ? "English" : "Svenska";
    control.lang = lang === "sv" ? "en" : "sv";
  }
  if (dicts[lang].page_title) { document.title = t("page_title"); }
}

/* The cookie the server reads for its own pages; true when it holds the chosen language. */
export function syncCookie() {
  document.cookie = `jourchatt_lang=${lang}; path=/; max-age=31536000; SameSite=Strict`;
  return document.cookie.split("; ").includes(`jourchatt_lang=${lang}`);
}

export function setLang(next) {
  lang = next === "en" ? "en" : "sv";
  try { localStorage.setItem(KEY, lang); } catch (e) { /* private mode */ }
  syncCookie();
  apply();
  document.dispatchEvent(new Event("langchange"));
}

function bind() {
  const control = document.getElementById("lang");
  if (!control) { return; }
  if (control.tagName === "SELECT") { control.addEventListener("change", () => setLang(control.value)); }
  else { control.addEventListener("click", () => setLang(lang === "sv" ? "en" : "sv")); }
}
if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", bind); } else { bind(); }

/* Every change carries the CSRF header (chat/csrf.py). Never throws: a network failure is status 0. */
export async function api(method, path, body) {
  const opts = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
  if (method !== "GET") { opts.headers["X-Jourchatt-CSRF"] = "1"; }
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  let res;
  try { res = await fetch(path, opts); } catch (e) { return { status: 0, data: { error: "network" } }; }
  let data = {};
  try { data = await res.json(); } catch (e) { /* empty body */ }
  return { status: res.status, data: data, headers: res.headers };
}
