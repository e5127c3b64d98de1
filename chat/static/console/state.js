/* The console's live state, shared by its modules.
 *
 * Chat text lives only in this page's DOM and memory: nothing is written to localStorage or
 * sessionStorage except the chosen interface language (../i18n.js).
 */
export const S = {
  me: null, ws: null, lost: false, backoff: 500, reconnectAfter: undefined, stop: false, leaving: false,
  status: "paused", capacity: 1, chats: new Map(), snippets: [], supervising: false, nextId: 1, counter: 0,
  unseen: 0, audio: null, serviceNames: {}, practice: new Map(),
};

export function $(id) { return document.getElementById(id); }

export function isTrainee() { return !!(S.me && (S.me.roles || []).includes("trainee")); }

export function isSupervisor() { return !!(S.me && (S.me.roles || []).includes("supervisor")); }

// To the login page, once: a logout also closes the socket (4401, signed_out), and a
// second assignment of location.href would abort the navigation already under way.
export function toLogin() {
  if (S.leaving) return;
  S.leaving = true;
  location.href = "/login?next=/console";          // and back here once signed in
}
