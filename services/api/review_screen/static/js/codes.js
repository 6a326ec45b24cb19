// The code manager: the codebook with counts per code, and per code its quotations across the
// project, quoted with the respondent id the way the thesis' chapter 4 quotes its respondents.
import { get, query } from "./api.js";
import {
  AGREEMENT_COLUMNS, agreementCells, agreementControls, agreementFooter, chooseComparison, comparisonKey, loadAgreement,
  nextComparisonKey,
} from "./agreement.js";
import { showHelp } from "./dialogs.js";
import { S, el, fill, kbd, projectInfo, setCrumbs, setToolbar } from "./state.js";

const OUTCOME_TEXT = { open: "open", confirmed: "confirmed", rejected: "rejected" };
const COUNT_COLUMNS = [["Code", null], ["Suggested", null], ["Open", null], ["Confirmed", null], ["Rejected", null],
  ["Resp.", "Respondents with a quotation of this code"]];

export async function showCodeManager(projectId, selectedCode) {
  const info = await projectInfo(projectId);
  const reviewer = S.reviewerView;
  const [counts, agreement] = await Promise.all([get(`/projects/${projectId}/review/codes${query({ reviewer })}`),
    loadAgreement(projectId)]);
  const reloadWith = (key) => {
    chooseComparison(key);
    showCodeManager(projectId, rows[index] ? rows[index].dataset.code : selectedCode);
  };
  setCrumbs([{ label: "Projects", href: "#/" }, { label: info.project.name, href: `#/p/${projectId}` }, { label: "Code manager" }]);
  const back = S.lastTranscript ? `#/t/${S.lastTranscript}` : `#/p/${projectId}`;
  setToolbar(
    el("a", { class: "tool", href: back }, S.lastTranscript ? "Back to the document " : "Back to the overview ", kbd("Esc")),
    el("span", { class: "muted", text: reviewer === "me" ? "View: my review" : "View: all reviewers" }),
    el("button", { type: "button", class: "tool", onclick: showHelp }, "Help ", kbd("?")));

  const rows = [];
  const byId = Object.fromEntries(counts.map((c) => [c.id, c]));
  const groups = info.codebook.categories.map((cat) => ({ title: `${cat.id} · ${cat.name}`, color: cat.color,
    codes: counts.filter((c) => c.kind === "knelpunt" && c.category === cat.id) }));
  groups.push({ title: "Oplossingsrichtingen", codes: counts.filter((c) => c.kind === "oplossing") });
  const extra = counts.filter((c) => c.kind === "unknown");
  if (extra.length) groups.push({ title: "Not in the codebook", codes: extra });
  const number = (n) => el("td", { class: n ? "num" : "num zero", text: String(n) });
  const body = el("tbody");
  for (const group of groups) {
    if (!group.codes.length) continue;
    body.appendChild(el("tr", { class: "group" }, el("th", { colspan: String(COUNT_COLUMNS.length + AGREEMENT_COLUMNS.length), text: group.title })));
    for (const c of group.codes) {
      const row = el("tr", { class: "row code", "data-code": c.id, tabindex: "-1" },
        el("td", {}, el("span", { class: "swatch", style: `background:${c.color}` }),
          el("span", { text: c.number ? `${c.number}. ${c.name}` : c.name, title: c.id })),
        number(c.suggested), number(c.open), number(c.confirmed), number(c.rejected), number(c.respondents),
        agreementCells(agreement, c.id));
      row.addEventListener("click", () => choose(rows.indexOf(row), true));
      rows.push(row);
      body.appendChild(row);
    }
  }
  const table = el("table", { class: "codes-table", id: "code-table", "data-comparison": comparisonKey(agreement) },
    el("thead", {}, el("tr", {}, COUNT_COLUMNS.map(([h, title]) => el("th", { text: h, title })),
      AGREEMENT_COLUMNS.map(([h, title]) => el("th", { text: h, title, class: "agr" })))),
    body, el("tfoot", {}, agreementFooter(agreement, COUNT_COLUMNS.length)));
  const detail = el("section", { class: "code-detail", id: "code-quotations" });
  const totals = counts.reduce((t, c) => ({ suggested: t.suggested + c.suggested, confirmed: t.confirmed + c.confirmed,
    rejected: t.rejected + c.rejected, open: t.open + c.open }), { suggested: 0, confirmed: 0, rejected: 0, open: 0 });
  document.getElementById("view").replaceChildren(el("div", { class: "codemanager" },
    el("section", { class: "code-list" }, el("h1", { text: "Code manager" }),
      el("p", { class: "muted", text: `${totals.suggested} code suggestions by the model · ${totals.confirmed} confirmed · ${totals.rejected} rejected · ${totals.open} open` }),
      agreementControls(agreement, reloadWith),
      table),
    detail));

  let index = Math.max(0, rows.findIndex((r) => r.dataset.code === selectedCode));
  async function choose(i, load) {
    index = Math.max(0, Math.min(i, rows.length - 1));
    rows.forEach((r, j) => r.classList.toggle("active", j === index));
    rows[index].scrollIntoView({ block: "nearest" });
    if (load) await showQuotations(projectId, byId[rows[index].dataset.code], detail, info);
  }
  await choose(index, true);
  S.keys = (event) => {
    const key = event.key;
    if (key === "j" || key === "ArrowDown") choose(index + 1, true);
    else if (key === "k" || key === "ArrowUp") choose(index - 1, true);
    else if (key === "f" || key === "Enter") {
      S.filterCode = rows[index].dataset.code;
      location.hash = back;
    } else if (key === "Escape" || key === "g") location.hash = back;
    else if (key === "o") location.hash = `#/p/${projectId}`;
    else if (key === "a" && agreement.comparisons.length > 1) reloadWith(nextComparisonKey(agreement));
    else if (key === "?") showHelp();
    else return false;
    return true;
  };
}

let latestRequest = 0;

async function showQuotations(projectId, code, detail, info) {
  const request = ++latestRequest;
  const items = await get(`/projects/${projectId}/review/codes/${encodeURIComponent(code.id)}/quotations${query({ reviewer: S.reviewerView, include_rejected: true })}`);
  if (request !== latestRequest) return; // the reviewer moved on to another code meanwhile
  history.replaceState(null, "", `#/p/${projectId}/codes/${code.id}`);
  const heading = el("h2", {}, el("span", { class: "swatch", style: `background:${code.color}` }),
    `${code.number ? code.number + ". " : ""}${code.name}`);
  const description = info.codes[code.id] ? el("p", { class: "muted description", text: info.codes[code.id].description }) : null;
  const filter = el("p", {}, el("button", { type: "button", class: "tool", onclick: () => {
    S.filterCode = code.id;
    location.hash = S.lastTranscript ? `#/t/${S.lastTranscript}` : `#/p/${projectId}`;
  } }, "Filter the document by this code ", kbd("f")));
  if (!items.length) {
    fill(detail, heading, description, el("p", { class: "muted", text: "No quotation with this code yet." }));
    return;
  }
  const list = el("ol", { class: "quote-list" });
  let lastCase = null;
  for (const item of items) {
    const caseName = item.case_name || "(no case)";
    if (caseName !== lastCase) {
      list.appendChild(el("li", { class: "case", text: caseName }));
      lastCase = caseName;
    }
    list.appendChild(el("li", { class: `quote ${item.outcome}` },
      el("a", { href: `#/t/${item.transcript_id}/${item.quotation_id}` },
        el("q", { text: item.text.length > 400 ? item.text.slice(0, 400) + "…" : item.text })),
      el("span", { class: "cite", text: ` (${item.respondent_id || item.filename})` }),
      el("span", { class: `badge st-${item.outcome}`, text: OUTCOME_TEXT[item.outcome] }),
      item.score !== null ? el("span", { class: "muted", text: ` ${item.score.toFixed(2)}` }) : el("span", { class: "muted", text: " reviewer" })));
  }
  fill(detail, heading, description, filter,
    el("p", { class: "muted", text: countText(items) }),
    list);
}

function countText(items) {
  const respondents = new Set(items.map((i) => i.respondent_id || i.transcript_id)).size;
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `${plural(items.length, "quotation")} from ${plural(respondents, "respondent")}`;
}
