/* /login: password and code; first-time enrolment of the second factor; forced password change. */
import "./shell.js";
import * as I from "./i18n.js";

I.add({
  page_title: "Logga in – jourchatt",
  login_title: "Logga in", username: "Användarnamn", password: "Lösenord",
  code: "Kod från autentiseringsappen",
  code_hint: "Sex siffror. Lämna tomt första gången du loggar in.",
  sign_in: "Logga in",
  password_title: "Välj ett nytt lösenord",
  password_intro: "Ditt konto har återställts. Välj ett eget lösenord på minst 12 tecken.",
  new_password: "Nytt lösenord", repeat_password: "Upprepa det nya lösenordet", save_password: "Spara lösenordet",
  enroll_title: "Aktivera tvåstegsverifiering",
  enroll_step1: "Öppna en autentiseringsapp i telefonen (till exempel FreeOTP, Aegis, Google Authenticator eller Microsoft Authenticator).",
  enroll_step2: "Skanna QR-koden, eller skriv in nyckeln nedan.",
  enroll_step3: "Skriv koden som appen visar och bekräfta.",
  secret_label: "Nyckel att skriva in:", confirm: "Bekräfta",
  done_title: "Du är inloggad", continue: "Fortsätt",
  err_fields: "Fyll i användarnamn och lösenord.",
  err_credentials: "Fel användarnamn, lösenord eller kod.",
  err_throttled: "För många misslyckade försök. Försök igen om {s} sekunder.",
  err_network: "Ingen kontakt med servern. Kontrollera anslutningen och försök igen.",
  err_server: "Något gick fel. Försök igen om en stund.",
  err_mismatch: "Lösenorden är inte likadana.",
  err_short: "Lösenordet måste vara minst 12 tecken.",
  err_weak: "Lösenordet godtogs inte: {d}",
  err_code: "Koden stämmer inte. Skriv koden som appen visar just nu.",
  err_code_format: "Skriv de sex siffrorna från appen.",
  err_code_reused: "Koden har redan använts för en inloggning. Vänta tills appen visar en ny kod (den byts var 30:e sekund) och skriv den.",
}, {
  page_title: "Sign in – jourchatt",
  login_title: "Sign in", username: "Username", password: "Password",
  code: "Code from the authenticator app",
  code_hint: "Six digits. Leave empty the first time you sign in.",
  sign_in: "Sign in",
  password_title: "Choose a new password",
  password_intro: "Your account has been reset. Choose a password of your own, at least 12 characters.",
  new_password: "New password", repeat_password: "Repeat the new password", save_password: "Save the password",
  enroll_title: "Set up two-step verification",
  enroll_step1: "Open an authenticator app on your phone (for example FreeOTP, Aegis, Google Authenticator or Microsoft Authenticator).",
  enroll_step2: "Scan the QR code, or type in the key below.",
  enroll_step3: "Enter the code the app shows and confirm.",
  secret_label: "Key to type in:", confirm: "Confirm",
  done_title: "You are signed in", continue: "Continue",
  err_fields: "Enter your username and password.",
  err_credentials: "Wrong username, password or code.",
  err_throttled: "Too many failed attempts. Try again in {s} seconds.",
  err_network: "No contact with the server. Check the connection and try again.",
  err_server: "Something went wrong. Try again in a moment.",
  err_mismatch: "The passwords are not the same.",
  err_short: "The password must be at least 12 characters.",
  err_weak: "The password was not accepted: {d}",
  err_code: "The code does not match. Enter the code the app shows right now.",
  err_code_format: "Enter the six digits from the app.",
  err_code_reused: "That code has already been used to sign in. Wait until the app shows a new code (it changes every 30 seconds) and enter that.",
});

const $ = (id) => document.getElementById(id);
const views = ["view-login", "view-password", "view-enroll", "view-done"];
let lastError = null;

function say(key, vars, field) {
  lastError = key ? [key, vars] : null;
  $("message").textContent = key ? I.t(key, vars) : "";
  for (const el of document.querySelectorAll("[aria-invalid]")) { el.removeAttribute("aria-invalid"); }
  if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
}
document.addEventListener("langchange", () => { if (lastError) { $("message").textContent = I.t(lastError[0], lastError[1]); } });

function show(id) {
  for (const v of views) { $(v).hidden = v !== id; }
  const heading = $(id).querySelector("h1");
  const first = $(id).querySelector("input");
  (first || heading).focus();
}

/* The page that sent the person here (?next=/referrals/directory), when it is a page of this site:
 * a path on this origin, never "//host", a backslash (which browsers read as a slash), a control
 * character, another scheme, /login itself or an API address. Anything else is ignored. */
function requested(search, origin) {
  const raw = new URLSearchParams(search).get("next");
  if (!raw || raw[0] !== "/" || raw[1] === "/" || /[\\\u0000-\u001f\u007f]/.test(raw)) { return null; }
  let url;
  try { url = new URL(raw, origin); } catch (e) { return null; }
  // Checked again after parsing: dot segments ("/.//host", "/x/..//host", "/%2e//host") collapse
  // into a path that begins "//", which a browser reads as another host.
  if (url.origin !== origin || url.pathname.startsWith("//") || url.pathname.includes("\\")
      || url.pathname === "/login" || url.pathname.startsWith("/api/")) { return null; }
  return url.pathname + url.search + url.hash;
}

function destination(me) {
  const asked = requested(window.location.search, window.location.origin);
  if (asked) { return asked; }
  const roles = me.roles || [];
  if (roles.includes("volunteer") || roles.includes("supervisor")) { return "/console"; }
  if (roles.includes("admin")) { return "/admin"; }
  if (roles.includes("coordinator")) { return "/stats"; }
  return "/";
}

function failed(res, field) {
  if (res.status === 0) { say("err_network"); }
  else if (res.status === 429) { say("err_throttled", { s: (res.headers && res.headers.get("Retry-After")) || "60" }, field); }
  else if (res.status === 401 && res.data.error === "code_reused") { say("err_code_reused", null, $("otp")); }
  else if (res.status === 401) { say("err_credentials", null, field); }
  else { say("err_server"); }
}

async function next(me) {
  say(null);
  if (me.password_change) { show("view-password"); return; }
  if (me.second_factor !== "enabled") {
    const res = await I.api("POST", "/api/totp/setup");
    if (res.status !== 200) { failed(res); return; }
    $("qr").innerHTML = res.data.qr_svg;            /* an SVG made by our own server */
    $("secret").textContent = res.data.secret.replace(/(.{4})/g, "$1 ").trim();
    show("view-enroll");
    return;
  }
  const to = destination(me);
  $("next").href = to;
  show("view-done");
  window.location.assign(to);
}

function busy(form, on) { for (const b of form.querySelectorAll("button")) { b.disabled = on; } }

$("form-login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const username = $("username").value.trim(), password = $("password").value;
  const otp = $("otp").value.replace(/\s+/g, "");
  if (!username) { say("err_fields", null, $("username")); return; }
  if (!password) { say("err_fields", null, $("password")); return; }
  const body = { username: username, password: password };
  if (otp) { body.otp = otp; }
  busy(form, true);
  const res = await I.api("POST", "/api/login", body);
  busy(form, false);
  $("otp").value = "";
  if (res.status !== 200) {
    if (res.data.error !== "code_reused") { $("password").value = ""; }   /* only the code must be new */
    failed(res, $("password"));
    return;
  }
  $("password").value = "";
  await next(res.data);
});

$("form-password").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const a = $("new-password").value, b = $("new-password-2").value;
  if (a.length < 12) { say("err_short", null, $("new-password")); return; }
  if (a !== b) { say("err_mismatch", null, $("new-password-2")); return; }
  busy(ev.target, true);
  const res = await I.api("POST", "/api/password", { new_password: a });
  busy(ev.target, false);
  if (res.status === 400) { say("err_weak", { d: res.data.detail || "" }, $("new-password")); return; }
  if (res.status !== 200) { failed(res); return; }
  $("new-password").value = ""; $("new-password-2").value = "";
  await next(res.data);
});

$("form-enroll").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const otp = $("enroll-otp").value.replace(/\s+/g, "");
  if (!/^\d{6}$/.test(otp)) { say("err_code_format", null, $("enroll-otp")); return; }
  busy(ev.target, true);
  const res = await I.api("POST", "/api/totp/confirm", { otp: otp });
  busy(ev.target, false);
  $("enroll-otp").value = "";
  if (res.status === 400) { say("err_code", null, $("enroll-otp")); return; }
  if (res.status !== 200) { failed(res); return; }
  await next(res.data);
});

document.addEventListener("DOMContentLoaded", async () => {
  I.apply();
  const res = await I.api("GET", "/api/me");
  if (res.status === 200) {
    await next(res.data);           /* restricted: carry on where it stopped; full: go on */
  } else {
    $("username").focus();
  }
});
