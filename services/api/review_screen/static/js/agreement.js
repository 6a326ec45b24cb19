// Agreement in the code manager: Cohen's kappa, Krippendorff's alpha, F1 and n per code and
// overall, counted per sentence, for one comparison (model vs a reviewer, or two reviewers who
// reviewed the same transcript). The figures are the API's; this module only lays them out.
import { get, query } from "./api.js";
import { S, el } from "./state.js";

const CHOICE_KEY = "qcoder.agreement";
export const AGREEMENT_COLUMNS = [
  ["κ", "Cohen's kappa (chance-corrected agreement), per sentence"],
  ["α", "Krippendorff's alpha (nominal), per sentence"],
  ["F1", "F1 of the first rater against the second (for two reviewers: positive specific agreement)"],
  ["n", "Sentences either rater coded with this code (overall: sentences both decided on)"],
];

const keyOf = (c) => `${c.first}:${c.second}`;

// The comparisons the project offers and the figures of the chosen one; the counts still show if this fails.
export async function loadAgreement(projectId) {
  try {
    return await fetchAgreement(projectId);
  } catch (err) {
    return { projectId, comparisons: [], choice: null, table: null, error: err.message };
  }
}

async function fetchAgreement(projectId) {
  const { comparisons } = await get(`/projects/${projectId}/agreement/comparisons`);
  const stored = sessionStorage.getItem(CHOICE_KEY);
  const mine = S.me && comparisons.find((c) => c.first === "model" && c.second === S.me.id);
  const choice = comparisons.find((c) => keyOf(c) === stored) || mine || comparisons[0] || null;
  const state = { projectId, comparisons, choice, table: null };
  if (choice) {
    state.table = await get(`/projects/${projectId}/agreement${query({ first: choice.first, second: choice.second })}`);
  }
  return state;
}

// Remember a comparison for this tab; the caller reloads the code manager.
export function chooseComparison(key) {
  sessionStorage.setItem(CHOICE_KEY, key);
}

// "first:second" of the comparison shown, or "" when there is none.
export function comparisonKey(state) {
  return state.choice ? keyOf(state.choice) : "";
}

export function nextComparisonKey(state) {
  if (!state.comparisons.length) return null;
  const index = state.comparisons.findIndex((c) => state.choice && keyOf(c) === keyOf(state.choice));
  return keyOf(state.comparisons[(index + 1) % state.comparisons.length]);
}

function figure(value) {
  return value === null || value === undefined ? "—" : value.toFixed(2);
}

function cells(row, nValue, enough) {
  const attrs = (name, value) => ({
    class: `num agr${enough ? "" : " few"}`, "data-stat": name, "data-value": value === null || value === undefined ? "" : String(value),
    text: name === "n" ? String(value ?? 0) : figure(value),
    title: enough ? null : "Too few sentences for a stable figure",
  });
  if (!row) return ["kappa", "alpha", "f1", "n"].map((name) => el("td", { class: "num agr none", "data-stat": name, text: "—" }));
  return [el("td", attrs("kappa", row.kappa)), el("td", attrs("alpha", row.alpha)), el("td", attrs("f1", row.f1)),
    el("td", attrs("n", nValue))];
}

// κ, α, F1 and n of one code in the chosen comparison.
export function agreementCells(state, codeId) {
  const row = state.table && state.table.per_code[codeId];
  return cells(row, row ? row.n : 0, row ? row.enough_data : false);
}

// The overall row: pooled over (sentence, code), n = sentences both raters decided on.
export function agreementFooter(state, columnsBefore) {
  const overall = state.table && state.table.overall;
  return el("tr", { class: "overall", id: "agreement-overall" },
    el("th", { text: "Overall (sentence × code)", title: "Pooled over every (sentence, code) pair; n: sentences both raters decided on" }),
    Array.from({ length: columnsBefore - 1 }, () => el("td")),
    cells(overall, overall ? overall.sentences : 0, overall ? overall.enough_data : false));
}

// The comparison selector and the note saying when there is too little data.
export function agreementControls(state, onChoose) {
  if (!state.comparisons.length) {
    const text = state.error ? `Agreement could not be computed: ${state.error}`
      : "Agreement: no reviewer has decided on a quotation yet. The κ, α and F1 columns fill in once someone reviews.";
    return el("div", { class: "agreement-controls" }, el("p", { class: "agreement-note", id: "agreement-note", text }));
  }
  const select = el("select", { id: "agreement-compare", "aria-label": "Agreement: which raters to compare" },
    state.comparisons.map((c) => el("option", { value: keyOf(c), selected: keyOf(c) === keyOf(state.choice),
      text: `${c.label} (${c.transcripts} transcript${c.transcripts === 1 ? "" : "s"})` })));
  select.addEventListener("change", () => onChoose(select.value));
  const note = state.table && state.table.note;
  return el("div", { class: "agreement-controls" },
    el("label", {}, "Agreement per sentence: ", select, el("kbd", { text: "a" })),
    note ? el("p", { class: "agreement-note", id: "agreement-note", text: note }) : null);
}
