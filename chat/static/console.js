/* The volunteer console: plain JavaScript ES modules, no framework, no build step (see docs/protocol.md
 * for the socket). This is the entry: it signs the page in, wires the header and starts the socket; each
 * module under console/ owns one part of the page and the frames that change it.
 *
 * Chat text lives only in this page's DOM and memory: nothing is written to localStorage or
 * sessionStorage except the chosen interface language (i18n.js).
 */
import "./shell.js";
import { t, has, apply, api } from "./i18n.js";
import "./console/texts.js";
import { S, $, toLogin, isSupervisor, isTrainee } from "./console/state.js";
import { banner, notice } from "./console/ui.js";
import { on, send, connect } from "./console/socket.js";
import { unlockAudio, seen } from "./console/attention.js";
import { renderStatus } from "./console/status.js";
import { loadVocabularies } from "./console/vocab.js";
import { loadSnippets, startSnippetEditor } from "./console/snippets.js";
import { startSupervision } from "./console/supervision.js";
import { startHoursEditor, relabelHours } from "./console/hours.js";
import { startShifts } from "./console/shifts.js";
import { startTraining, resumePractice } from "./console/training.js";
import { forgetOffers } from "./console/handover.js";
import "./console/chats.js";

const RETRY_MS = 3000;   // how soon the page asks again when the server did not answer at the start

on("welcome", (f) => {
  forgetOffers();                     // the offers still open follow the welcome
  S.status = f.state; S.capacity = f.capacity;
  $("status").disabled = false;
  renderStatus();
  if (S.supervising) send({ type: "supervise", active: true });
  for (const chat of S.chats.values()) {
    if (chat.mode !== "own" && !chat.ended && !isTrainee()) send({ type: "observe", chat: chat.id, active: true });
  }
  resumePractice();
  if (isTrainee()) send({ type: "shadowable" });
});
on("status", (f) => { S.status = f.state; renderStatus(); });
on("reconnect", (f) => { S.reconnectAfter = f.after_ms; });
on("error", (f) => {
  if (f.code === "not_authenticated" || f.code === "signed_out" || f.code === "role_changed") { S.stop = true; toLogin(); return; }
  if (f.code === "not_allowed") { S.stop = true; banner(t("not_allowed")); return; }
  const known = `error_${f.code}`;
  notice(`${t("error")} ${has(known) ? t(known) : f.detail}`);
});

function relabel() {
  renderStatus();
  document.title = t("title");
  relabelHours();                     // labels made of several words
}

/* The signed-in account, once the server answered and the vocabularies are here; null on the way to /login. */
async function signedIn() {
  for (;;) {
    const [me, vocabularies] = await Promise.all([api("GET", "/api/me"), loadVocabularies()]);
    if (me.status === 401) { toLogin(); return null; }
    if (me.status === 200 && vocabularies) return me.data;
    S.lost = true;                    // the socket's first open says the connection is back
    banner(t("conn_lost"));
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

async function boot() {
  apply();
  relabel();
  document.addEventListener("langchange", relabel);
  S.me = await signedIn();
  if (!S.me) return;
  S.capacity = S.me.capacity || 1;
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  window.addEventListener("focus", seen);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) seen(); });
  $("status").addEventListener("click", () => {
    send({ type: "status", state: S.status === "available" ? "paused" : "available" });
  });
  // The shell signs out and goes to /login itself: the socket's close sends nowhere else.
  document.addEventListener("shell:logout", () => { S.stop = true; S.leaving = true; });
  if (isSupervisor()) {
    startSupervision();
    startSnippetEditor();
    startHoursEditor();
  }
  const roles = S.me.roles || [];
  startShifts(roles.includes("supervisor") || roles.includes("coordinator"), S.me.may_take_chats);
  const trainee = isTrainee();
  // Coordinators and admins are not volunteers: no training to miss. A trainee is not a volunteer
  // either, but its console follows chats (with consent) and answers practice chats.
  if (!roles.includes("volunteer") && !trainee) {
    $("status").hidden = true;
    $("empty").dataset.t = "not_a_volunteer";
    $("empty").textContent = t("not_a_volunteer");
    return;
  }
  if (trainee) $("status").hidden = true;           // a trainee follows chats and practises, never takes one
  if (trainee || S.me.may_take_chats || isSupervisor()) startTraining();
  if (!S.me.may_take_chats && !trainee) { banner(t("not_allowed")); return; }
  await loadSnippets();
  connect();
}

boot();
