/* A sound (WebAudio, once a key or pointer unlocked it) and a title notice when a chat arrives. */
import { t } from "../i18n.js";
import { S } from "./state.js";
import { notice } from "./ui.js";

export function unlockAudio() {
  if (S.audio || !window.AudioContext) return;
  try { S.audio = new AudioContext(); } catch (e) { S.audio = null; }
}

function beep() {
  if (!S.audio) return;
  try {
    const osc = S.audio.createOscillator(), gain = S.audio.createGain();
    osc.frequency.value = 740; gain.gain.value = 0.08;
    osc.connect(gain); gain.connect(S.audio.destination);
    osc.start(); osc.stop(S.audio.currentTime + 0.18);
  } catch (e) { /* no sound is not an error */ }
}

export function arrived() {
  beep();
  if (document.hidden || !document.hasFocus()) {
    S.unseen += 1;
    document.title = `(${S.unseen}) ${t("title_new")} – ${t("title")}`;
  }
  notice(t("new_chat"));
}

export function seen() { S.unseen = 0; document.title = t("title"); }
