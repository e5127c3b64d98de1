/* The partner's redeem page (/partner/redeem): posts the code with the partner's API key as a Bearer token.
 *
 * The key lives in the form field (memory) only, unless the partner ticks "remember": then it is kept in
 * sessionStorage, for this tab until it closes, never in localStorage or a cookie. Unticking forgets it.
 */
import "/static/shell.js";
import * as I from "/static/i18n.js";

const STORE = "jourchatt.partner_key";

I.add({
  page_title: "Lös in hänvisningskod – jourchatt", redeem_title: "Lös in en hänvisningskod",
  redeem_intro: "Har en ung person kommit till er med en kod från chatten? Skriv in den här, så räknas hänvisningen – utan att någon lämnar ut vem hen är. Varje kod räknas en gång.",
  key: "API-nyckel", key_hint: "Nyckeln ni fick från stiftelsen (börjar med jcp_).",
  remember: "Kom ihåg nyckeln i den här fliken",
  remember_hint: "Nyckeln sparas bara i den här webbläsarfliken tills den stängs, aldrig på datorn. Lämna rutan tom på en dator som andra använder.",
  code: "Kod", code_hint: "Tio tecken, till exempel K7QM3-XRT9C. Mellanslag och bindestreck spelar ingen roll.",
  redeem: "Lös in", working: "Skickar …",
  ok: "Koden är inlöst för {s}. Tack!", invalid_code: "Koden är felskriven: kontrollera tecknen.",
  unknown_code: "Koden finns inte, eller gäller inte er tjänst.", expired_code: "Koden har gått ut.",
  already_redeemed: "Koden är redan inlöst.", invalid_key: "Fel API-nyckel.",
  rate_limited: "För många försök. Vänta {s} sekunder och försök igen.", network: "Kunde inte nå servern. Försök igen.",
  missing_key: "Skriv API-nyckeln.", missing_code: "Skriv koden.", other: "Det gick inte: {d}",
}, {
  page_title: "Redeem a referral code – jourchatt", redeem_title: "Redeem a referral code",
  redeem_intro: "Did a young person come to you with a code from the chat? Enter it here so the referral counts, without anyone giving their identity. Each code counts once.",
  key: "API key", key_hint: "The key you were given by the foundation (starts with jcp_).",
  remember: "Remember the key in this tab",
  remember_hint: "The key is kept only in this browser tab until it closes, never on the computer. Leave the box empty on a computer others use.",
  code: "Code", code_hint: "Ten characters, for example K7QM3-XRT9C. Spaces and dashes do not matter.",
  redeem: "Redeem", working: "Sending …",
  ok: "The code is redeemed for {s}. Thank you!", invalid_code: "The code is mistyped: check the characters.",
  unknown_code: "No such code, or it is not for your service.", expired_code: "The code has expired.",
  already_redeemed: "The code was already redeemed.", invalid_key: "Wrong API key.",
  rate_limited: "Too many attempts. Wait {s} seconds and try again.", network: "Could not reach the server. Try again.",
  missing_key: "Enter the API key.", missing_code: "Enter the code.", other: "That did not work: {d}",
});

const $ = (id) => document.getElementById(id);
let last = null;

function say(kind, vars, field) {
  last = [kind, vars];
  const out = $("result");
  out.textContent = I.t(kind, vars);
  out.dataset.result = kind;
  out.className = "alert " + (kind === "ok" ? "ok" : "error");
  for (const el of document.querySelectorAll("[aria-invalid]")) { el.removeAttribute("aria-invalid"); }
  if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
}

function remembered() { try { return sessionStorage.getItem(STORE); } catch (e) { return null; } }
function remember(key) {
  try { if (key) { sessionStorage.setItem(STORE, key); } else { sessionStorage.removeItem(STORE); } } catch (e) { /* private mode */ }
}

$("remember").addEventListener("change", () => { remember($("remember").checked ? $("key").value.trim() : null); });

$("redeem").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("key").value.trim();
  const codeField = $("code");
  if (!key) { say("missing_key", null, $("key")); return; }
  if (!codeField.value.trim()) { say("missing_code", null, codeField); return; }
  remember($("remember").checked ? key : null);
  $("result").textContent = I.t("working");
  let r, body = {};
  try {
    r = await fetch("/api/referrals/redeem", {
      method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + key, "X-Jourchatt-CSRF": "1" },
      body: JSON.stringify({ code: codeField.value }),
    });
    try { body = await r.json(); } catch (e) { /* empty */ }
  } catch (err) {
    say("network");
    return;
  }
  if (r.ok) { say("ok", { s: body.service.name }); codeField.value = ""; codeField.focus(); return; }
  const kind = body.error;
  if (kind === "rate_limited") { say(kind, { s: r.headers.get("Retry-After") || "60" }); return; }
  if (kind === "invalid_key") { say(kind, null, $("key")); return; }
  if (["invalid_code", "unknown_code", "expired_code", "already_redeemed"].includes(kind)) { say(kind, null, codeField); return; }
  say("other", { d: body.detail || kind || r.status });
});

document.addEventListener("langchange", () => { if (last) { $("result").textContent = I.t(last[0], last[1]); } });

const kept = remembered();
if (kept) { $("key").value = kept; $("remember").checked = true; }
I.apply();
