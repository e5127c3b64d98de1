/* The header: the available/paused button and the load (own chats of the capacity). Paused with a
 * chat in hand (a supervisor who took one over) says so, instead of a bare "Pausad". */
import { t } from "../i18n.js";
import { S, $ } from "./state.js";

export function renderStatus() {
  const b = $("status");
  b.setAttribute("aria-pressed", S.status === "available" ? "true" : "false");
  const own = [...S.chats.values()].filter((c) => c.mode === "own").length;
  b.dataset.t = S.status === "available" ? "available" : own ? "paused_holding" : "paused";
  b.textContent = t(b.dataset.t);
  $("load").textContent = `${own}/${S.capacity} ${t("load_label")}`;
  $("empty").hidden = S.chats.size > 0;
}
