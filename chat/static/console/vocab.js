/* The vocabularies and their labels, as the server serves them (GET /api/vocabularies): no copy here. */
import { api, lang } from "../i18n.js";

let doc = null;

/* True once the document is loaded; false (try again later) when the server could not be asked. */
export async function loadVocabularies() {
  if (doc) return true;
  const r = await api("GET", "/api/vocabularies");
  if (r.status !== 200 || !r.data || !r.data.vocabularies) return false;
  doc = r.data;
  return true;
}

function label(entry) { return entry[lang] || entry.sv; }

/* [[value, label], ...] in the vocabulary's own order, labels in the page's language. */
export function choices(vocab) {
  return ((doc && doc.vocabularies[vocab]) || []).map((e) => [e.value, label(e)]);
}

/* A word's label; the word itself if the vocabulary does not know it. */
export function word(vocab, value) {
  const entry = ((doc && doc.vocabularies[vocab]) || []).find((e) => e.value === value);
  return entry ? label(entry) : String(value);
}

/* A municipality's districts as [[id, name], ...]; none for a municipality without districts. */
export function districts(municipality) {
  return ((doc && doc.districts[municipality]) || []).map((e) => [e.value, label(e)]);
}

/* A district's name, or null unless it lies in that municipality. */
export function districtName(municipality, district) {
  const found = districts(municipality).find(([id]) => id === district);
  return found ? found[1] : null;
}
