/* The socket to /ws/volunteer (docs/protocol.md): one handler per frame type, registered by the
 * module that owns that frame; reconnection with back-off and a banner while the connection is down. */
import { t } from "../i18n.js";
import { S, $, toLogin } from "./state.js";
import { banner, notice } from "./ui.js";

const handlers = {};

export function on(type, handler) {
  if (handlers[type]) throw new Error(`two handlers for the frame ${type}`);
  handlers[type] = handler;
}

export function send(frame) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) { S.ws.send(JSON.stringify(frame)); return true; }
  notice(t("conn_lost"));
  return false;
}

export function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/volunteer`);
  S.ws = ws;
  ws.addEventListener("open", () => {
    S.backoff = 500;
    if (S.lost) banner(t("conn_back"), true);
    S.lost = false;
  });
  ws.addEventListener("message", (ev) => {
    let frame;
    try { frame = JSON.parse(ev.data); } catch (e) { return; }
    const handler = handlers[frame.type];
    if (handler) handler(frame);
  });
  ws.addEventListener("close", (ev) => {
    if (S.ws !== ws) return;
    S.ws = null;
    $("status").disabled = true;
    if (ev.code === 4401) { toLogin(); return; }
    if (ev.code === 4403) { banner(t("not_allowed")); return; }
    if (ev.code === 4409) { banner(t("replaced")); return; }
    if (S.stop) return;
    S.lost = true;
    banner(t("conn_lost"));
    const wait = S.reconnectAfter !== undefined ? S.reconnectAfter : S.backoff * (0.8 + Math.random() * 0.4);
    S.reconnectAfter = undefined;
    S.backoff = Math.min(S.backoff * 2, 10000);
    setTimeout(connect, wait);
  });
}
