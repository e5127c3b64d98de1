/* Swedish first, English selectable; the choice is kept in localStorage. Shared by /login and /admin. */
"use strict";
window.I18N = (function () {
  const dicts = { sv: {}, en: {} };
  let lang = "sv";
  try { lang = localStorage.getItem("jourchatt.lang") === "en" ? "en" : "sv"; } catch (e) { /* private mode */ }
  function t(key, vars) {
    let s = (dicts[lang] && dicts[lang][key]) || dicts.sv[key] || key;
    if (vars) { for (const k of Object.keys(vars)) { s = s.split("{" + k + "}").join(String(vars[k])); } }
    return s;
  }
  function apply() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll("[data-t]")) { el.textContent = t(el.dataset.t); }
    const btn = document.getElementById("lang");
    if (btn) {
      btn.textContent = lang === "sv" ? "English" : "Svenska";
      btn.lang = lang === "sv" ? "en" : "sv";
    }
    if (dicts[lang].page_title) { document.title = t("page_title"); }
  }
  function add(sv, en) { Object.assign(dicts.sv, sv); Object.assign(dicts.en, en); }
  function toggle() {
    lang = lang === "sv" ? "en" : "sv";
    try { localStorage.setItem("jourchatt.lang", lang); } catch (e) { /* private mode */ }
    apply();
    document.dispatchEvent(new Event("langchange"));
  }
  document.addEventListener("DOMContentLoaded", function () {
    const btn = document.getElementById("lang");
    if (btn) { btn.addEventListener("click", toggle); }
  });
  /* Every change carries the CSRF header (chat/csrf.py). */
  async function api(method, path, body) {
    const opts = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") { opts.headers["X-Jourchatt-CSRF"] = "1"; }
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    let res;
    try { res = await fetch(path, opts); } catch (e) { return { status: 0, data: { error: "network" } }; }
    let data = {};
    try { data = await res.json(); } catch (e) { /* empty body */ }
    return { status: res.status, data: data, headers: res.headers };
  }
  return { t: t, apply: apply, add: add, api: api, get lang() { return lang; } };
})();
