/* The header: the available/paused button and the load (own chats of the capacity). */
import { t } from "../i18n.js";
import { S, $ } from "./state.js";

export function renderStatus() {
  const b = $("status");
  b.setAttribute("aria-pressed", S.status === "available" ? "true" : "false");
  b.dataset.t = S.status === "available" ? "available" : "paused";
  b.textContent = t(b.dataset.t);
  const own = [...S.chats.values()].filter((c) => c.mode === "own").length;
  $("load").textContent = `${own}/${S.capacity} ${t("load_label")}`;
  $("empty").hidden = S.chats.size > 0;
}
