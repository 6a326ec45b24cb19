// The document review view: layout, rendering, the side panel, navigation and the keyboard.
import { get, query } from "./api.js";
import { loadChanges, stepChange, toggleChanges } from "./changes.js";
import { decideAction, undoLast } from "./decisions.js";
import { rerunSlot } from "./rerun.js";
import { STANCE_LABELS, showHelp } from "./dialogs.js";
import { codeChip, matchesFilter, renderHandles, renderMargin, renderText, scoreOf } from "./document.js";
import { cancelSpan, onDrag, spanKey, startNew, startSpanEdit } from "./spanedit.js";
import { Boundaries, selectionOffsets } from "./spans.js";
import { S, el, fill, kbd, progressBar, projectInfo, setCrumbs, setToolbar, toast } from "./state.js";

// The one review view on the page; rebuilt when a transcript is opened.
const R = { doc: null, info: null, currentId: null, preview: null, spanMode: null, queue: null, bounds: null };
const ui = {};

export async function showTranscript(transcriptId, quotationId) {
  let reviewer = S.reviewerView;
  let doc = await get(`/transcripts/${transcriptId}/review${query({ reviewer })}`);
  if (!doc.can_decide && !S.viewChosen && reviewer === "me") {
    // Someone who cannot decide has no review of their own; show everyone's.
    S.reviewerView = reviewer = "all";
    doc = await get(`/transcripts/${transcriptId}/review${query({ reviewer })}`);
  }
  R.doc = doc;
  R.info = await projectInfo(doc.transcript.project_id);
  R.preview = null;
  R.spanMode = null;
  R.bounds = new Boundaries(doc.text, doc.sentences, doc.turns);
  S.lastTranscript = transcriptId;
  if (R.queue && R.queue.projectId !== doc.transcript.project_id) R.queue = null;
  buildLayout();
  const wanted = doc.quotations.find((q) => q.id === quotationId);
  const first = order().find((q) => q.status === "unreviewed") || order()[0];
  render();
  select(wanted ? wanted.id : first ? first.id : null);
  S.keys = onKey;
  loadChanges(ctx, ui.changesSlot, ui.changes);
  if (doc.transcript.status === "queued" || doc.transcript.status === "processing") {
    toast(`This transcript is ${doc.transcript.status}; it opens for review when it is ready.`, "warn");
    const hash = location.hash;
    setTimeout(() => { if (location.hash === hash) showTranscript(transcriptId, null); }, 3000);
  } else if (doc.transcript.status === "failed") {
    toast(`Processing failed: ${doc.transcript.error_message || "unknown reason"}`, "error");
  }
}

function buildLayout() {
  const t = R.doc.transcript;
  setCrumbs([{ label: "Projects", href: "#/" }, { label: R.info.project.name, href: `#/p/${t.project_id}` },
    { label: `${t.filename}${t.respondent_id ? " · " + t.respondent_id : ""}` }]);
  ui.progress = el("span", { id: "doc-progress" });
  ui.mode = el("button", { type: "button", class: "tool", id: "queue-mode", onclick: toggleQueue });
  ui.view = el("button", { type: "button", class: "tool", id: "reviewer-view", onclick: toggleView });
  ui.filter = el("span", { id: "filter" });
  ui.changesSlot = el("span", { id: "changes-slot" });
  setToolbar(ui.progress, ui.mode, ui.view, ui.filter, ui.changesSlot, rerunSlot(ctx),
    el("a", { class: "tool", href: `#/p/${t.project_id}/codes`, id: "open-codes" }, "Codes ", kbd("g")),
    el("button", { type: "button", class: "tool", id: "help-button", onclick: showHelp }, "Help ", kbd("?")));
  ui.text = el("div", { id: "doc", class: "doc", lang: "nl" });
  ui.handles = el("div", { id: "handles" });
  ui.margin = el("div", { id: "margin", "aria-label": "Codes in the margin" });
  ui.pane = el("section", { id: "pane" }, el("div", { class: "sheet" }, el("div", { class: "textcol" }, ui.text, ui.handles), ui.margin));
  ui.side = el("aside", { id: "side", "aria-live": "polite" });
  ui.changes = el("aside", { id: "changes", hidden: true, "aria-label": "What changed since the earlier run" });
  document.getElementById("view").replaceChildren(el("div", { class: "review" }, ui.pane, ui.changes, ui.side));
  ui.text.addEventListener("mousedown", (event) => {
    const seg = event.target.closest(".seg.hl");
    if (seg && !event.shiftKey && !R.spanMode) R.pendingClick = seg.dataset.q.split(" ")[0];
  });
  ui.text.addEventListener("mouseup", () => {
    const picked = R.pendingClick;
    R.pendingClick = null;
    if (picked && !selectionOffsets(ui.text)) select(picked);
  });
}

export function order() {
  return R.doc.quotations.filter((q) => matchesFilter(q, S.filterCode)).sort((a, b) => a.start - b.start || a.end - b.end);
}

export function current() {
  return R.doc.quotations.find((q) => q.id === R.currentId) || null;
}

export function render() {
  const view = { codes: R.info.codes, currentId: R.currentId, filterCode: S.filterCode, preview: R.preview };
  const extents = renderText(ui.text, R.doc, view);
  renderMargin(ui.margin, R.doc, view, extents, (id) => select(id));
  const q = current();
  const handleSpan = R.preview || (q && R.doc.can_decide ? q : null);
  renderHandles(ui.handles, ui.text, handleSpan, (...args) => onDrag(ctx, ...args));
  renderToolbar();
  renderSide();
}

function renderToolbar() {
  const total = R.doc.quotations.length;
  const reviewed = R.doc.quotations.filter((q) => q.status !== "unreviewed").length;
  R.doc.progress = { ...R.doc.progress, total, reviewed };
  ui.progress.replaceChildren(progressBar(reviewed, total, `${reviewed} / ${total} reviewed`));
  ui.mode.replaceChildren(S.queueMode === "document" ? "Queue: document order " : "Queue: lowest confidence first ", kbd("q"));
  ui.view.replaceChildren(S.reviewerView === "me" ? "View: my review " : "View: all reviewers ", kbd("v"));
  if (S.filterCode) {
    const code = R.info.codes[S.filterCode];
    ui.filter.replaceChildren(el("span", { class: "filter-chip", style: `border-color:${code ? code.color : "#888"}` },
      `Filter: ${code && code.number ? code.number + " " : ""}${code ? code.name : S.filterCode} `,
      el("button", { type: "button", class: "link", text: "×", title: "Clear filter (f)", onclick: () => setFilter(null) })));
  } else ui.filter.replaceChildren();
}

function renderSide() {
  const q = current();
  if (R.spanMode) {
    const span = R.preview;
    fill(ui.side, el("div", { class: "span-help" },
      el("h2", { text: R.spanMode === "new" ? "New quotation" : "Adjust span" }),
      el("blockquote", { id: "preview-text", text: R.doc.text.slice(span.start, span.end) }),
      el("p", {}, kbd("←"), kbd("→"), " end by word · ", kbd("Shift"), "+", kbd("←"), kbd("→"), " start by word"),
      el("p", {}, kbd("Ctrl"), "+arrows by sentence", R.spanMode === "new" && !R.fromSelection ? [" · ", kbd("↑"), kbd("↓"), " other sentence"] : null),
      el("p", {}, kbd("Enter"), R.spanMode === "new" ? " choose a code · " : " save · ", kbd("Esc"), " cancel")));
    return;
  }
  if (!q) {
    ui.side.replaceChildren(el("div", { class: "empty" }, el("p", { text: R.doc.quotations.length
      ? "No quotation selected." : "The model suggested no quotation here." }),
      el("p", {}, "Select text and press ", kbd("n"), " to add a quotation the model missed.")));
    return;
  }
  const list = order();
  const position = list.findIndex((x) => x.id === q.id) + 1;
  const codeRows = q.codes.map((id, i) => {
    const score = scoreOf(q, id);
    return el("li", { class: "code-row" }, codeChip(id, R.info.codes, null, false),
      el("span", { class: "meter", title: score === null ? "added by a reviewer" : `confidence ${score.toFixed(2)}` },
        el("span", { class: "meter-fill", style: `width:${Math.round((score ?? 0) * 100)}%` })),
      el("span", { class: "score", text: score === null ? "reviewer" : score.toFixed(2) }),
      i === 0 ? kbd("c") : null);
  });
  const stanceText = q.stance ? STANCE_LABELS[q.stance] || q.stance : "—";
  const machine = q.machine;
  const memos = q.comments.map((c) => el("li", {}, el("p", { text: c.text }),
    el("span", { class: "muted", text: `${userName(c.reviewer_id)} · ${new Date(c.at).toLocaleString()}` })));
  fill(ui.side,
    el("div", { class: "q-head" },
      el("span", { class: "muted", text: `Quotation ${position || "–"} / ${list.length}` }),
      el("span", { class: `badge st-${q.status}`, id: "q-status", text: q.status }),
      q.confidence !== null ? el("span", { class: "muted", text: ` confidence ${q.confidence.toFixed(2)}` }) : el("span", { class: "muted", text: " added by a reviewer" })),
    el("blockquote", { id: "q-text", text: q.text.length > 700 ? q.text.slice(0, 700) + "…" : q.text }),
    el("h3", { text: "Codes" }),
    el("ul", { class: "codes", id: "q-codes" }, codeRows.length ? codeRows : el("li", { class: "muted", text: "none (rejected)" })),
    q.rejected_codes.length ? el("p", { class: "rejected" }, "Rejected: ", q.rejected_codes.map((id) => codeChip(id, R.info.codes, scoreOf(q, id), true))) : null,
    el("p", {}, "Stance: ", el("strong", { id: "q-stance", text: stanceText }),
      machine && machine.stance ? el("span", { class: "muted", text: ` (model: ${machine.stance}${machine.stance_score !== null ? " " + machine.stance_score.toFixed(2) : ""})` }) : null),
    R.doc.can_decide ? actions() : el("p", { class: "muted", text: "You can read this project; deciding needs the reviewer role." }),
    el("h3", { text: "Memos" }),
    memos.length ? el("ul", { class: "memos" }, memos) : el("p", { class: "muted" }, "No memo. ", kbd("m"), " writes one."),
    el("div", { class: "prov" },
      machine ? el("p", { text: `Model ${machine.model_version || "?"} · data ${String(machine.data_snapshot || "").slice(0, 15)}…` }) : null,
      machine && (machine.start !== q.start || machine.end !== q.end) ? el("p", { text: "Span changed by review (model's span kept in the history)." }) : null,
      q.decided_at ? el("p", { text: `Decided ${new Date(q.decided_at).toLocaleString()}` }) : null),
  );
}

function userName(id) {
  return S.me && id === S.me.id ? "you" : `reviewer ${id}`;
}

function actions() {
  const button = (label, key, handler, id) => el("button", { type: "button", class: "act", id, onclick: handler }, label, " ", kbd(key));
  return el("div", { class: "actions" },
    button("Confirm", "Enter", () => runAction("confirm"), "act-confirm"),
    button("Reject", "r", () => runAction("reject"), "act-reject"),
    button("Change code", "c", () => runAction("relabel"), "act-relabel"),
    button("Add code", "+", () => runAction("add_code"), "act-add"),
    button("Stance", "s", () => runAction("set_stance"), "act-stance"),
    button("Span", "e", () => startSpanEdit(ctx), "act-span"),
    button("Memo", "m", () => runAction("comment"), "act-memo"),
    button("Undo", "u", () => undoLast(ctx), "act-undo"));
}

export function select(id, { scroll = true } = {}) {
  R.currentId = id;
  render();
  if (id) history.replaceState(null, "", `#/t/${R.doc.transcript.id}/${id}`);
  if (scroll && id) {
    const seg = ui.text.querySelector(".seg.cur");
    if (seg) {
      const pane = ui.pane.getBoundingClientRect();
      const rect = seg.getBoundingClientRect();
      if (rect.top < pane.top + 40 || rect.bottom > pane.bottom - 40) seg.scrollIntoView({ block: "center" });
    }
  }
}

// Replace a quotation by the state the API answered; a withdrawn one (undone creation) disappears.
export function replaceQuotation(fresh) {
  const index = R.doc.quotations.findIndex((q) => q.id === fresh.id);
  if (fresh.visible === false) {
    if (index >= 0) R.doc.quotations.splice(index, 1);
    if (R.currentId === fresh.id) R.currentId = null;
  } else if (index >= 0) R.doc.quotations[index] = fresh;
  else R.doc.quotations.push(fresh);
  if (R.queue) R.queue.items = R.queue.items.filter((item) => item.quotation_id !== fresh.id || fresh.status === "unreviewed");
}

async function move(step) {
  if (S.queueMode === "uncertainty") return queueStep(step);
  const list = order();
  if (!list.length) return;
  const index = list.findIndex((q) => q.id === R.currentId);
  const next = index < 0 ? (step > 0 ? 0 : list.length - 1) : index + step;
  if (next >= list.length) return nextTranscript();
  if (next < 0) return toast("This is the first quotation.");
  select(list[next].id);
}

async function nextTranscript() {
  const projectId = R.doc.transcript.project_id;
  const items = await get(`/projects/${projectId}/review/queue?mode=document&reviewer=${S.reviewerView}`);
  const later = items.find((item) => item.transcript_id !== R.doc.transcript.id);
  if (!later) return toast("Last quotation, and no open quotation in other transcripts.");
  toast("On to the next transcript with open quotations.");
  location.hash = `#/t/${later.transcript_id}/${later.quotation_id}`;
}

async function loadQueue() {
  const projectId = R.doc.transcript.project_id;
  const items = await get(`/projects/${projectId}/review/queue?mode=uncertainty&reviewer=${S.reviewerView}`);
  R.queue = { projectId, items };
}

async function queueStep(step) {
  if (!R.queue) await loadQueue();
  const items = R.queue.items;
  if (!items.length) return toast("No open quotation left in this project.");
  let index = items.findIndex((item) => item.quotation_id === R.currentId);
  if (index < 0) index = step > 0 ? -1 : items.length;
  const target = items[index + step];
  if (!target) return toast(step > 0 ? "End of the queue." : "Start of the queue.");
  if (target.transcript_id === R.doc.transcript.id) select(target.quotation_id);
  else location.hash = `#/t/${target.transcript_id}/${target.quotation_id}`;
}

// After confirm or reject: the next open quotation of the queue.
export async function advance(fromId) {
  if (S.queueMode === "uncertainty") {
    if (!R.queue) await loadQueue();
    const target = R.queue.items.find((item) => item.quotation_id !== fromId);
    if (!target) return toast("No open quotation left in this project.");
    if (target.transcript_id === R.doc.transcript.id) return select(target.quotation_id);
    location.hash = `#/t/${target.transcript_id}/${target.quotation_id}`;
    return;
  }
  const list = order();
  const index = list.findIndex((q) => q.id === fromId);
  const open = list.slice(index + 1).find((q) => q.status === "unreviewed") || list.find((q) => q.status === "unreviewed");
  if (open) select(open.id);
  else {
    render();
    toast("Every quotation of this transcript is reviewed.", "info");
  }
}

async function toggleQueue() {
  S.queueMode = S.queueMode === "document" ? "uncertainty" : "document";
  R.queue = null;
  if (S.queueMode === "uncertainty") {
    await loadQueue();
    toast("Lowest confidence first, across all transcripts of the project.");
    if (R.queue.items.length) {
      const first = R.queue.items[0];
      if (first.transcript_id === R.doc.transcript.id) select(first.quotation_id);
      else location.hash = `#/t/${first.transcript_id}/${first.quotation_id}`;
      return;
    }
  } else toast("Document order.");
  render();
}

async function toggleView() {
  S.reviewerView = S.reviewerView === "me" ? "all" : "me";
  R.queue = null;
  await showTranscript(R.doc.transcript.id, R.currentId);
}

function setFilter(codeId) {
  S.filterCode = codeId;
  render();
}

function runAction(action) {
  const q = current();
  if (!q) return toast("Select a quotation first (j / k).");
  return decideAction(ctx, q, action);
}

// --- keyboard -------------------------------------------------------------------------------

function onKey(event) {
  if (R.spanMode && R.spanMode !== "drag") return spanKey(ctx, event);
  const key = event.key;
  if ((event.ctrlKey && key.toLowerCase() === "z") || key === "u") {
    undoLast(ctx);
    return true;
  }
  if (event.ctrlKey) return false;
  switch (key) {
    case "j": case "ArrowDown": move(1); break;
    case "k": case "ArrowUp": move(-1); break;
    case "Home": { const l = order(); if (l.length) select(l[0].id); break; }
    case "End": { const l = order(); if (l.length) select(l[l.length - 1].id); break; }
    case "Enter": case "a": runAction("confirm"); break;
    case "r": case "x": runAction("reject"); break;
    case "c": runAction("relabel"); break;
    case "+": case "t": runAction("add_code"); break;
    case "-": runAction("remove_code"); break;
    case "s": runAction("set_stance"); break;
    case "m": runAction("comment"); break;
    case "e": startSpanEdit(ctx); break;
    case "n": startNew(ctx); break;
    case "q": toggleQueue(); break;
    case "v": toggleView(); break;
    case "f": { const q = current(); setFilter(S.filterCode ? null : q && (q.codes[0] || q.rejected_codes[0]) || null); break; }
    case "g": location.hash = `#/p/${R.doc.transcript.project_id}/codes`; break;
    case "o": location.hash = `#/p/${R.doc.transcript.project_id}`; break;
    case "?": showHelp(); break;
    case "w": toggleChanges(ctx); break;
    case "[": case "]": return stepChange(ctx, key === "]" ? 1 : -1);
    case "Escape": if (S.filterCode) setFilter(null); break;
    default: return false;
  }
  return true;
}

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (R.doc && ui.text && ui.text.isConnected) render(); }, 120);
});

export const ctx = { R, ui, render, select, advance, replaceQuotation, current, order, cancelSpan: () => cancelSpan(ctx),
  reload: () => showTranscript(R.doc.transcript.id, null) };
