/* Building the page: elements whose text follows the language, the notice line and the banner. */
import { t } from "../i18n.js";
import { $ } from "./state.js";

/* el("button", {t: "send", class: "primary", onclick: fn}, child...) ; t/ta keep the text translatable */
export function el(tag, props, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "t") { node.dataset.t = v; node.textContent = t(v); }
    else if (k === "ta") { node.dataset.ta = v; node.setAttribute("aria-label", t(v)); }
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

let bannerTimer;
const NOTICE_MS = 8000;

/* Notices stack: a new one (the next chat arriving) never wipes one that came just before it
 * (a supervisor took over); each goes after its own time, ``ms`` for the ones that matter longer. */
export function notice(text, ms) {
  const n = $("notice");
  const line = el("span", { class: "notice-line", text });
  n.append(line);
  while (n.children.length > 4) n.firstChild.remove();
  setTimeout(() => line.remove(), ms || NOTICE_MS);
}

export function banner(text, ok) {
  const b = $("banner");
  b.textContent = text;
  b.className = ok ? "banner ok" : "banner";
  b.hidden = false;
  clearTimeout(bannerTimer);
  if (ok) bannerTimer = setTimeout(() => { b.hidden = true; }, 4000);
}
