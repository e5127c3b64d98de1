/* A chat's log: lines in seq order, each seq shown once (a replay after a resume may overlap). */
import { t } from "../i18n.js";
import { el } from "./ui.js";

export function addLine(chat, frame) {
  if (frame.seq !== undefined) {
    if (chat.seqs.has(frame.seq)) return;
    chat.seqs.add(frame.seq);
  }
  let who = frame.from;
  if (frame.from === "volunteer" && chat.mode === "own") who = "you";
  const label = frame.name ? `${t(who === "whisper" ? "supervisor" : who)} ${frame.name}` : t(who === "whisper" ? "supervisor" : who);
  const li = el("li", { class: frame.from }, el("span", { class: "who", text: label }), el("span", { text: frame.text }));
  if (frame.seq !== undefined) li.dataset.seq = frame.seq;
  insertBySeq(chat, li, frame.seq);
  if (frame.from !== "volunteer") chat.typing.textContent = "";
}

export function insertBySeq(chat, li, seq) {
  const atBottom = chat.log.scrollHeight - chat.log.scrollTop - chat.log.clientHeight < 40;
  let before = null;
  if (seq !== undefined) {
    for (const other of chat.log.children) {
      if (other.dataset.seq && Number(other.dataset.seq) > seq) { before = other; break; }
    }
  }
  chat.log.insertBefore(li, before);
  if (atBottom || before === null) chat.log.scrollTop = chat.log.scrollHeight;
}
