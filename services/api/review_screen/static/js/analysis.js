// The analysis view of a project: the case comparison of the thesis' table 8 with the quotations behind
// each cell, the charts, and every research output to download. All of it comes from the confirmed
// quotations (every reviewer's decisions), computed by the API's outputs.
import { get, query } from "./api.js";
import { showHelp } from "./dialogs.js";
import { download, fetchFile, safeSvg } from "./files.js";
import { S, el, fill, kbd, projectInfo, setCrumbs, setToolbar, toast } from "./state.js";

// What each status of a cell means, next to the thesis' own label (from the API) in the legend.
const STATUS_HINTS = {
  knelpunt: "named as a bottleneck",
  resolved: "a bottleneck for which the case also names a solution",
  succesfactor: "named as a success factor",
  mixed: "both bottleneck and success factor",
  neutral: "mentioned, no stance",
};
const CHARTS = [
  { kind: "code-frequencies", title: "Code frequencies per case",
    label: "Bar chart: confirmed quotations per knelpunt, one bar per case" },
  { kind: "knelpunt-solutions", title: "Solutions with knelpunten",
    label: "Heat map: how often each solution is coded together with each knelpunt; ● = linked in the codebook" },
];
const DOWNLOADS = [
  ["Code-document table", [["CSV per transcript", "code-document", { format: "csv", by: "transcript" }],
    ["CSV per respondent", "code-document", { format: "csv", by: "respondent" }],
    ["CSV per case", "code-document", { format: "csv", by: "case" }], ["XLSX (all three)", "code-document", { format: "xlsx" }]]],
  ["Case comparison", [["HTML", "case-comparison", { format: "html" }], ["CSV", "case-comparison", { format: "csv" }]]],
  ["Quotation report", [["HTML", "quotations", { format: "html" }], ["DOCX", "quotations", { format: "docx" }]]],
  ["Co-occurrence", [["CSV", "cooccurrence", { format: "csv" }]]],
];
// REFI-QDA exchange files for ATLAS.ti, NVivo, MAXQDA and QualCoder: [label, path after the project, query].
const EXCHANGE = [["Project .qdpx (confirmed codings)", "export.qdpx", {}],
  ["Project .qdpx with unreviewed suggestions", "export.qdpx", { machine: "separate_user" }],
  ["Codebook .qdc", "export.qdc", {}]];

/** Show the analysis of a project; `code` and `caseName` (from the address) reopen one cell's quotations. */
export async function showAnalysis(projectId, code = null, caseName = null) {
  const info = await projectInfo(projectId);
  const [comparison, table] = await Promise.all([
    get(`/projects/${projectId}/outputs/case-comparison${query({ format: "json" })}`),
    get(`/projects/${projectId}/outputs/code-document${query({ format: "json", by: "case" })}`),
  ]);
  const home = `#/p/${projectId}`;
  setCrumbs([{ label: "Projects", href: "#/" }, { label: info.project.name, href: home }, { label: "Analysis" }]);
  setToolbar(
    el("a", { class: "tool", href: home, id: "analysis-back" }, "Back to the overview ", kbd("Esc")),
    el("a", { class: "tool", href: `${home}/codes` }, "Code manager ", kbd("g")),
    el("button", { type: "button", class: "tool", onclick: showHelp }, "Help ", kbd("?")));

  const used = table.rows.filter((row) => row.total > 0);
  const page = el("div", { class: "analysis", id: "analysis" });
  const intro = el("p", { class: "muted" }, "Built from the confirmed quotations only (the decisions of all reviewers); " +
    "unreviewed suggestions and rejected quotations never count.");
  if (!used.length) {
    fill(page, el("section", { class: "panel" }, el("h1", { text: `Analysis · ${info.project.name}` }), intro,
      el("div", { class: "empty-state", id: "analysis-empty" },
        el("p", {}, el("strong", { text: "No confirmed quotations yet." })),
        el("p", { text: "The case comparison and the charts are built from quotations a reviewer confirmed. " +
          "Review the model's suggestions first, then come back here." }),
        el("p", {}, el("a", { href: home, text: "Go to the project overview to start reviewing" })))),
    downloadsPanel(projectId));
    document.getElementById("view").replaceChildren(page);
    S.keys = viewKeys(projectId, () => false);
    return;
  }
  const detail = el("section", { class: "panel cell-detail", id: "cell-quotations", "aria-live": "polite" },
    el("p", { class: "muted", text: "Choose a cell of the table to see the quotations behind it." }));
  const cells = [];
  const pick = (button) => openCell(projectId, comparison, button, cells, detail);
  const cases = new Set(table.columns);
  fill(page,
    el("section", { class: "panel" },
      el("h1", { text: `Analysis · ${info.project.name}` }), intro,
      el("p", { id: "analysis-summary", text: `${used.length} codes with confirmed quotations in ${cases.size} ` +
        `${cases.size === 1 ? "case" : "cases"}.` })),
    el("div", { class: "comparison-row" },
      el("section", { class: "panel comparison" },
        el("h2", { text: "Case comparison (table 8)" }),
        comparison.rows.length ? comparisonTable(comparison, cells, pick)
          : el("p", { class: "muted", text: "No knelpunt or literature variable is confirmed in any case yet." }),
        legend(comparison)),
      detail),
    el("section", { class: "panel charts" }, el("h2", { text: "Charts" }),
      el("div", { class: "chart-grid" }, CHARTS.map((chart) => chartFigure(projectId, chart)))),
    downloadsPanel(projectId));
  document.getElementById("view").replaceChildren(page);

  const wanted = cells.find((b) => b.dataset.code === decoded(code) && b.dataset.case === decoded(caseName));
  if (wanted) {
    wanted.scrollIntoView({ block: "nearest" });
    await pick(wanted);
  }
  S.keys = viewKeys(projectId, (event) => {
    // j/k (arrows) walk the non-empty cells in reading order and open each one.
    const step = { j: 1, ArrowDown: 1, ArrowRight: 1, k: -1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!step || !cells.length) return false;
    const index = cells.findIndex((b) => b.classList.contains("picked"));
    const next = cells[Math.max(0, Math.min(cells.length - 1, index < 0 ? 0 : index + step))];
    next.focus();
    pick(next);
    return true;
  });
}

function decoded(part) {
  try {
    return part === null ? null : decodeURIComponent(part);
  } catch {
    return null; // a mangled address opens the view without a cell
  }
}

function viewKeys(projectId, more) {
  return (event) => {
    if (event.key === "Escape" || event.key === "o") location.hash = `#/p/${projectId}`;
    else if (event.key === "g") location.hash = `#/p/${projectId}/codes`;
    else if (event.key === "?") showHelp();
    else return more(event);
    return true;
  };
}

function rowLabel(row) {
  return row.number ? `${row.number}. ${row.name}` : row.name;
}

function comparisonTable(comparison, cells, pick) {
  const body = el("tbody");
  let group = null;
  for (const row of comparison.rows) {
    if (row.group !== group) {
      group = row.group;
      body.appendChild(el("tr", { class: "group" }, el("th", { colspan: String(comparison.cases.length + 1), text: group })));
    }
    const tr = el("tr", { "data-code": row.code_id }, el("th", { scope: "row", title: row.code_id, text: rowLabel(row) }));
    for (const caseName of comparison.cases) {
      const cell = row.cells[caseName];
      if (!cell || !cell.status) {
        tr.appendChild(el("td", { class: "cmp none", "data-case": caseName }));
        continue;
      }
      const counts = Object.entries(cell.counts).map(([stance, n]) => `${n}× ${stance}`).join(", ");
      const button = el("button", { type: "button", class: `cmp-cell st-${cell.status}`, "data-code": row.code_id,
        "data-case": caseName, text: cell.symbol, "aria-label": `${rowLabel(row)}, ${caseName}: ${comparison.labels[cell.status]}`,
        title: `${comparison.labels[cell.status]} (${counts}); click for the quotations`, onclick: () => pick(button) });
      button.meta = { row, caseName, cell };
      cells.push(button);
      tr.appendChild(el("td", { class: "cmp" }, button));
    }
    body.appendChild(tr);
  }
  return el("table", { class: "comparison-table", id: "case-comparison" },
    el("thead", {}, el("tr", {}, el("th", { text: "Knelpunt / variabele" }),
      comparison.cases.map((c) => el("th", { scope: "col", class: "case", text: c })))),
    body);
}

function legend(comparison) {
  const items = Object.entries(comparison.symbols).map(([status, symbol]) => el("li", {},
    el("span", { class: `cmp-cell st-${status} static`, text: symbol }),
    el("span", { text: comparison.labels[status] }), el("span", { class: "muted", text: `— ${STATUS_HINTS[status] || ""}` })));
  items.push(el("li", {}, el("span", { class: "cmp-cell static blank" }), el("span", { class: "muted", text: "not mentioned in this case" })));
  return el("ul", { class: "legend", id: "comparison-legend", "aria-label": "Legend" }, items);
}

let latestCell = 0;

async function openCell(projectId, comparison, button, cells, detail) {
  const request = ++latestCell;
  const { row, caseName, cell } = button.meta;
  cells.forEach((b) => b.classList.toggle("picked", b === button));
  // Keep the cell in the address: back from a quotation's document view reopens it.
  history.replaceState(null, "", `#/p/${projectId}/analysis/${encodeURIComponent(row.code_id)}/${encodeURIComponent(caseName)}`);
  const items = await get(`/projects/${projectId}/case-comparison/cell${query({ code: row.code_id, case: caseName })}`);
  if (request !== latestCell) return; // another cell was chosen meanwhile
  const own = items.filter((i) => i.role === "code");
  const solutions = items.filter((i) => i.role === "solution");
  fill(detail,
    el("h2", {}, el("span", { class: `cmp-cell st-${cell.status} static`, text: cell.symbol }), ` ${rowLabel(row)}`),
    el("p", { class: "muted", text: `${caseName} · ${comparison.labels[cell.status]} · ` +
      Object.entries(cell.counts).map(([stance, n]) => `${n}× ${stance}`).join(", ") }),
    quoteList(own, "cell-quotes"),
    solutions.length ? el("h3", { text: "Solutions named in this case" }) : null,
    solutions.length ? quoteList(solutions, "cell-solutions") : null);
}

function citation(item) {
  // As the quotation report cites: inner white space collapsed, the respondent in brackets.
  return `“${item.text.split(/\s+/).filter(Boolean).join(" ")}” (${item.respondent})`;
}

function quoteList(items, id) {
  return el("ol", { class: "quote-list cited", id }, items.map((item) => el("li", { class: "quote", "data-quotation": item.quotation_id },
    el("a", { href: `#/t/${item.transcript_id}/${item.quotation_id}`, title: "Open in the transcript" },
      el("span", { class: "quoted", text: `“${item.text.trim()}”` })),
    el("span", { class: "cite", text: ` (${item.respondent})` }),
    item.stance ? el("span", { class: "badge", text: item.stance }) : null,
    el("button", { type: "button", class: "link copy", title: "Copy the citation", text: "copy", onclick: () => copy(citation(item)) }))));
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast("Citation copied.");
  } catch {
    toast("The browser did not allow copying; select the text instead.", "warn");
  }
}

function chartFigure(projectId, chart) {
  const holder = el("div", { class: "chart", id: `chart-${chart.kind}`, role: "img", "aria-label": chart.label },
    el("p", { class: "muted", text: "Drawing the chart…" }));
  const path = (format) => `/projects/${projectId}/outputs/${chart.kind}${query({ format })}`;
  (async () => {
    try {
      const svg = safeSvg(await (await fetchFile(path("svg"))).text(), `${chart.kind}-`);
      holder.replaceChildren(svg);
    } catch (err) {
      holder.replaceChildren(el("p", { class: "error", text: `The chart could not be drawn: ${err.message}` }));
    }
  })();
  return el("figure", { class: "chart-figure" }, el("figcaption", {}, el("h3", { text: chart.title }),
    el("span", { class: "downloads" }, ["png", "svg"].map((format) =>
      downloadButton(format.toUpperCase(), path(format), `${chart.kind}.${format}`, `download-${chart.kind}-${format}`)))),
  holder);
}

function downloadButton(label, path, fallback, id) {
  const button = el("button", { type: "button", class: "download", id, text: label });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      toast(`Saved ${await download(path, fallback)}.`);
    } catch (err) {
      toast(`The download failed: ${err.message}`, "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function downloadsPanel(projectId) {
  const output = (kind, params) => `/projects/${projectId}/outputs/${kind}${query(params)}`;
  const rows = DOWNLOADS.map(([title, files]) => el("li", {}, el("span", { class: "what", text: title }),
    files.map(([label, kind, params]) => downloadButton(label, output(kind, params), `${kind}.${params.format}`,
      `download-${kind}-${params.format}${params.by ? "-" + params.by : ""}`))));
  rows.push(el("li", {}, el("span", { class: "what", text: "REFI-QDA (ATLAS.ti, NVivo, MAXQDA, QualCoder)" }),
    EXCHANGE.map(([label, file, params]) => downloadButton(label, `/projects/${projectId}/${file}${query(params)}`, file,
      `download-${file.replace(".", "-")}${params.machine ? "-suggestions" : ""}`))));
  return el("section", { class: "panel downloads-panel", id: "analysis-downloads" }, el("h2", { text: "Download" }),
    el("p", { class: "muted", text: "Tables, reports and exports for your thesis and for other QDA software. " +
      "Confirmed quotations only, except where a file says otherwise." }),
    el("ul", { class: "download-list" }, rows));
}
