/* The message box under a chat (or the whisper box when observing): Enter sends, the line shows as
 * "sending…" until its ack; typing is announced and taken back after 5 s without a key. */
import { t } from "../i18n.js";
import { S } from "./state.js";
import { el } from "./ui.js";
import { insertBySeq } from "./log.js";
import { send } from "./socket.js";
import { snippetPicker } from "./snippets.js";

const TYPING_IDLE_MS = 5000;   // a pause this long takes the "typing…" back

export function composer(chat, whisper) {
  const area = el("textarea", { ta: whisper ? "whisper" : "message", maxlength: "4000", rows: "3" });
  const submit = () => {
    const text = area.value;
    if (!text.trim() || chat.ended) return;
    const id = S.nextId++;
    const frame = { type: whisper ? "whisper" : "message", chat: chat.id, id, text };
    if (!send(frame)) return;
    const li = el("li", { class: whisper ? "whisper pending" : "volunteer pending" },
      el("span", { class: "who", text: `${t(whisper ? "whisper_send" : "you")} · ${t("sending")}` }), el("span", { text }));
    chat.pending.set(id, li);
    insertBySeq(chat, li);
    area.value = "";
    if (!whisper) { send({ type: "typing", chat: chat.id, active: false }); chat.typingSent = false; }
  };
  area.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
  });
  if (!whisper) {
    area.addEventListener("input", () => {
      const active = area.value.length > 0;
      if (active !== !!chat.typingSent) { chat.typingSent = active; send({ type: "typing", chat: chat.id, active }); }
      clearTimeout(chat.typingTimer);
      if (active) chat.typingTimer = setTimeout(() => {
        chat.typingSent = false;
        // A chat taken over or ended meanwhile is not ours to type in ("unknown_chat" otherwise).
        if (S.chats.get(chat.id) === chat && !chat.ended) send({ type: "typing", chat: chat.id, active: false });
      }, TYPING_IDLE_MS);
    });
  }
  chat.input = area;
  const box = el("div", { class: "compose" }, area,
    el("div", { class: "row" }, el("button", { type: "button", class: "primary", t: whisper ? "whisper_send" : "send", onclick: submit })));
  if (!whisper) box.append(snippetPicker(chat));
  return box;
}
