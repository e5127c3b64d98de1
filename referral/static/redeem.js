// The partner redeem page: posts the code with the key as a Bearer token.
// The key lives only in the form field (memory); nothing is stored in the browser.
"use strict";

const MESSAGES = {
  ok: (b) => `Koden är inlöst för ${b.service.name}. Tack! / Redeemed for ${b.service.name}. Thank you!`,
  invalid_code: () => "Koden är felskriven: kontrollera tecknen. / The code was mistyped: check it.",
  unknown_code: () => "Koden finns inte (eller gäller inte er). / No such code (or not for your service).",
  expired_code: () => "Koden har gått ut. / The code has expired.",
  already_redeemed: () => "Koden är redan inlöst. / The code was already redeemed.",
  invalid_key: () => "Fel API-nyckel. / Wrong API key.",
  rate_limited: (b, r) => `För många försök, vänta ${r.headers.get("Retry-After") || "en stund"} s. / Too many attempts, wait.`,
};

document.getElementById("redeem").addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = document.getElementById("result");
  const key = document.getElementById("key").value.trim();
  const codeField = document.getElementById("code");
  out.textContent = "…";
  try {
    const r = await fetch("/api/referrals/redeem", {
      method: "POST",
      credentials: "omit",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + key,
                "X-Jourchatt-CSRF": "1"},
      body: JSON.stringify({code: codeField.value}),
    });
    const body = await r.json();
    const kind = r.ok ? "ok" : body.error;
    const say = MESSAGES[kind];
    out.textContent = say ? say(body, r) : `${body.error}: ${body.detail}`;
    out.dataset.result = kind;
    if (r.ok) codeField.value = "";
  } catch (err) {
    out.textContent = "Kunde inte nå servern. / Could not reach the server.";
    out.dataset.result = "network";
  }
});
