/* The staff shell: one header on every staff page (console, statistics, directory, admin, partner, and any
 * page a later change adds). A module page adopts it with one line, `import "./shell.js";` as its first
 * import; a page without a module of its own with `<script type="module" src="/static/shell.js"></script>`
 * (and /static/shell.css either way).
 *
 * The header shows the pages the signed-in role may use, the account, the language (one at a time,
 * Swedish first) and a sign-out button; signed out, a link to /login. A page that is rendered on the server
 * (the dashboard) marks <html data-rendered="server"> and is reloaded when the language changes, since its
 * words come from the server (which reads the same choice from the jourchatt_lang cookie, see i18n.js).
 * A new page adds one entry to PAGES (or calls addPage) with the roles that may open it.
 */
import * as I from "./i18n.js";

export const PAGES = [
  { href: "/console", key: "shell_console", roles: ["volunteer", "supervisor"] },
  { href: "/stats", key: "shell_stats", roles: ["coordinator", "admin"] },
  { href: "/referrals/directory", key: "shell_directory", roles: ["coordinator", "admin"] },
  { href: "/admin", key: "shell_admin", roles: ["admin"] },
];

export function addPage(page) { PAGES.push(page); if (header) { render(); } }

I.add({
  shell_home: "jourchatt – startsida för personal", shell_pages: "Personalsidor",
  shell_console: "Konsol", shell_stats: "Statistik", shell_directory: "Hänvisningskatalog",
  shell_admin: "Administration", shell_partner: "Partnersida",
  shell_language: "Språk", shell_logout: "Logga ut", shell_login: "Logga in", shell_account: "Inloggad som {n} ({r})",
  shell_role_volunteer: "volontär", shell_role_supervisor: "handledare", shell_role_coordinator: "samordnare",
  shell_role_admin: "administratör",
}, {
  shell_home: "jourchatt – staff start page", shell_pages: "Staff pages",
  shell_console: "Console", shell_stats: "Statistics", shell_directory: "Referral directory",
  shell_admin: "Administration", shell_partner: "Partner page",
  shell_language: "Language", shell_logout: "Sign out", shell_login: "Sign in", shell_account: "Signed in as {n} ({r})",
  shell_role_volunteer: "volunteer", shell_role_supervisor: "supervisor", shell_role_coordinator: "coordinator",
  shell_role_admin: "admin",
});

let header = null;
let me = null;
const serverRendered = document.documentElement.dataset.rendered === "server";

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { e.setAttribute(k, v); }
  if (text !== undefined) { e.textContent = text; }
  return e;
}

/* The pages `roles` may open (the role's own word first: a supervisor is also a volunteer). */
export function pagesFor(roles) { return PAGES.filter((p) => p.roles.some((r) => roles.includes(r))); }

function roleOf(m) { const roles = m.roles || []; return roles[roles.length - 1] || "volunteer"; }

function here(href) { return window.location.pathname === href || window.location.pathname.startsWith(href + "/"); }

function render() {
  const nav = header.querySelector("nav ul");
  nav.textContent = "";
  for (const p of me ? pagesFor(me.roles || []) : []) {
    const a = el("a", { href: p.href, "data-t": p.key }, I.t(p.key));
    if (here(p.href)) { a.setAttribute("aria-current", "page"); }
    const li = el("li");
    li.append(a);
    nav.append(li);
  }
  header.querySelector("nav").hidden = !nav.children.length;
  const who = header.querySelector(".shell-account");
  who.textContent = me ? I.t("shell_account", { n: me.display_name, r: I.t("shell_role_" + roleOf(me)) }) : "";
  who.hidden = !me;
  header.querySelector("#logout").hidden = !me;
  header.querySelector("#shell-login").hidden = !!me || here("/login") || here("/partner");
}

/* /login, coming back here afterwards (login.js takes ?next= only when it is a path of this site). */
export function loginHref() {
  return "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
}

function build() {
  header = el("header", { class: "shell", id: "shell" });
  const brand = el("a", { class: "shell-brand", href: "/login", "data-ta": "shell_home" }, "jourchatt");
  const nav = el("nav", { "data-ta": "shell_pages" });
  nav.append(el("ul"));
  const tools = el("div", { class: "shell-tools" });
  const who = el("span", { class: "shell-account" });
  const label = el("label", { class: "shell-lang" });
  label.append(el("span", { "data-t": "shell_language" }, I.t("shell_language")));
  const select = el("select", { id: "lang" });
  select.append(el("option", { value: "sv", lang: "sv" }, "Svenska"), el("option", { value: "en", lang: "en" }, "English"));
  label.append(select);
  const login = el("a", { id: "shell-login", href: loginHref(), "data-t": "shell_login" }, I.t("shell_login"));
  const logout = el("button", { type: "button", id: "logout", "data-t": "shell_logout" }, I.t("shell_logout"));
  tools.append(who, label, login, logout);
  header.append(brand, nav, tools);
  document.body.prepend(header);
  select.value = I.lang;
  select.addEventListener("change", () => {
    I.setLang(select.value);
    if (serverRendered) { window.location.reload(); }
  });
  logout.addEventListener("click", async () => {
    document.dispatchEvent(new Event("shell:logout"));   /* the console stops its socket first */
    await I.api("POST", "/api/logout");
    window.location.assign("/login");
  });
  document.addEventListener("langchange", render);
  render();
}

/* The signed-in account as /api/me gives it, or null (signed out, or a restricted session). */
export const account = (async () => {
  const res = await I.api("GET", "/api/me");
  const ok = res.status === 200 && res.data.second_factor === "enabled" && !res.data.password_change;
  me = ok ? res.data : null;
  if (header) { render(); }
  return me;
})();

build();
/* A server-rendered page in another language than the one chosen: render it again in the chosen one. */
/* (When the address itself names the language, ?lang=, that one becomes the choice.) */
const named = new URLSearchParams(window.location.search).has("lang");
const pageLang = document.documentElement.lang;
if (serverRendered && named && pageLang !== I.lang) { I.setLang(pageLang); header.querySelector("#lang").value = I.lang; }
else if (serverRendered && pageLang !== I.lang && I.syncCookie()) { window.location.reload(); }
else { I.apply(); }
