/* Canned replies: the picker under a chat's message box, and the supervisors' editor
 * (GET/PUT /api/snippets). */
import { t, api, lang } from "../i18n.js";
import { S, $, isSupervisor } from "./state.js";
import { el, notice } from "./ui.js";
import { choices } from "./vocab.js";

export function snippetPicker(chat) {
  const select = el("select", { ta: "snippet" });
  const fill = () => {
    select.replaceChildren();
    const list = S.snippets.filter((s) => s.lang === (chat.lang || "sv"));
    if (!list.length) select.append(el("option", { value: "", t: "no_snippets" }));
    list.forEach((s, i) => select.append(el("option", { value: String(i), text: s.title })));
    select.disabled = !list.length;
    chat.snippetList = list;
  };
  chat.fillSnippets = fill;
  fill();
  const insert = () => {
    const s = chat.snippetList && chat.snippetList[Number(select.value)];
    if (!s || !chat.input) return;
    const a = chat.input, pos = a.selectionStart || a.value.length;
    a.value = a.value.slice(0, pos) + s.text + a.value.slice(a.selectionEnd || pos);
    a.focus();
    a.dispatchEvent(new Event("input"));
  };
  return el("div", { class: "row" }, el("label", {}, el("span", { t: "snippet" }), " ", select),
    el("button", { type: "button", t: "insert", onclick: insert }));
}

function snippetRow(s) {
  const title = el("input", { type: "text", maxlength: "80", value: s.title || "", ta: "snippet_title" });
  // A snippet for chats in one of the seven chat languages, named by label (GET /api/vocabularies).
  const named = choices("language");        // empty only if the vocabularies could not be read yet
  const langSel = el("select", { ta: "language" }, ...(named.length ? named : [["sv", "sv"], ["en", "en"]])
    .map(([v, label]) => el("option", { value: v, text: label })));
  langSel.value = s.lang || "sv";
  const text = el("textarea", { maxlength: "2000", ta: "snippet_text" });
  text.value = s.text || "";
  const row = el("div", { class: "snippet-row" }, title, langSel, text);
  row.append(el("button", { type: "button", class: "danger", t: "remove", onclick: () => row.remove() }));
  row.read = () => ({ title: title.value.trim(), lang: langSel.value, text: text.value.trim() });
  return row;
}

function renderSnippetEditor() {
  $("snippet-rows").replaceChildren(...S.snippets.map(snippetRow));
}

export async function loadSnippets() {
  const r = await api("GET", "/api/snippets");
  if (r.status === 200) S.snippets = r.data.snippets || [];
  else if (r.status === 0) S.snippets = [];             // no answer at all; any other keeps the list shown
  for (const chat of S.chats.values()) if (chat.fillSnippets) chat.fillSnippets();
  if (isSupervisor()) renderSnippetEditor();
}

async function saveSnippets() {
  const rows = [...$("snippet-rows").children].map((r) => r.read()).filter((s) => s.title && s.text);
  const r = await api("PUT", "/api/snippets", { snippets: rows });
  if (r.status === 200) { notice(t("snippets_saved")); await loadSnippets(); }
  else notice(`${t("error")} ${r.data.detail || r.status}`);
}

export function startSnippetEditor() {
  $("snippet-add").addEventListener("click", () => $("snippet-rows").append(snippetRow({ lang })));
  $("snippet-save").addEventListener("click", saveSnippets);
}
