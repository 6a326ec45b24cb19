// "What changed": after a transcript was re-run with another model version, the quotations the new
// run added, removed and changed (code, stance, confidence, span) compared with an earlier run.
// Each entry is clickable: it selects the quotation, or flashes the text of a removed one.
import { get, query } from "./api.js";
import { S, el, fill, kbd, toast } from "./state.js";

const P = { transcriptId: null, runs: [], base: null, data: null, open: false, index: -1 };
const KIND_TEXT = { added: "added", removed: "removed", changed: "changed" };

function runLabel(run) {
  return `${run.model_version} · ${new Date(run.created_at).toLocaleString()}`;
}

// Look up the transcript's runs; the toolbar button appears when there are two or more.
export async function loadChanges(ctx, slot, panel) {
  const transcriptId = ctx.R.doc.transcript.id;
  if (P.transcriptId !== transcriptId) Object.assign(P, { transcriptId, runs: [], base: null, data: null, index: -1 });
  P.slot = slot;
  P.panel = panel;
  try {
    P.runs = await get(`/transcripts/${transcriptId}/runs`);
  } catch (err) {
    P.runs = [];
  }
  if (P.runs.length < 2) {
    P.open = false;
    return renderButton(ctx);
  }
  await showPanel(ctx, P.open); // fetch the comparison now: the button shows how many changes there are
}

function renderButton(ctx) {
  if (P.runs.length < 2) {
    P.slot.replaceChildren();
    return;
  }
  const summary = P.data ? P.data.summary : null;
  const count = summary ? summary.added + summary.removed + summary.changed : null;
  P.slot.replaceChildren(el("button", { type: "button", class: "tool", id: "changes-button", onclick: () => toggleChanges(ctx) },
    `What changed${count !== null ? ` (${count})` : ""} `, kbd("w")));
}

export async function toggleChanges(ctx) {
  if (P.runs.length < 2) return toast("This transcript has one processing run; nothing to compare yet.");
  P.open = !P.open;
  if (P.open && P.data) P.panel.hidden = false;
  else if (P.open) await showPanel(ctx);
  else P.panel.hidden = true;
}

async function showPanel(ctx, visible = true) {
  try {
    P.data = await get(`/transcripts/${P.transcriptId}/runs/compare${query({ base: P.base })}`);
  } catch (err) {
    toast(err.message, "error");
    return;
  }
  P.index = Math.min(P.index, P.data.changes.length - 1);
  renderButton(ctx);
  renderPanel(ctx);
  P.panel.hidden = !visible;
}

function detail(item, codes) {
  const name = (id) => (codes[id] && codes[id].number ? `${codes[id].number} ${codes[id].name}` : codes[id] ? codes[id].name : id);
  const parts = [];
  if (item.kind === "added") parts.push(`new: ${item.other.codes.map((c) => `${name(c.id)} ${c.score.toFixed(2)}`).join(", ")}`);
  if (item.kind === "removed") parts.push(`was: ${item.base.codes.map((c) => `${name(c.id)} ${c.score.toFixed(2)}`).join(", ")}`);
  for (const id of item.codes_added) parts.push(`+ ${name(id)}`);
  for (const id of item.codes_removed) parts.push(`− ${name(id)}`);
  if (item.changes.includes("stance")) parts.push(`stance ${item.base.stance} → ${item.other.stance}`);
  for (const [id, [before, after]] of Object.entries(item.confidence)) parts.push(`${name(id)} ${before.toFixed(2)} → ${after.toFixed(2)}`);
  if (item.changes.includes("span")) parts.push(`span ${item.base.end - item.base.start} → ${item.other.end - item.other.start} characters`);
  if (item.base && item.base.decisions) parts.push(`${item.base.decisions} review decision${item.base.decisions === 1 ? "" : "s"} on the earlier run (kept in its history)`);
  return parts;
}

function renderPanel(ctx) {
  const data = P.data;
  const s = data.summary;
  const earlier = P.runs.filter((run) => run.id !== data.other.id);
  const select = el("select", { id: "changes-base", "aria-label": "Compare with run" },
    earlier.map((run) => el("option", { value: run.id, selected: run.id === data.base.id, text: runLabel(run) })));
  select.addEventListener("change", async () => {
    P.base = select.value;
    P.index = -1;
    await showPanel(ctx);
  });
  const items = data.changes.map((item, i) => {
    const quote = (item.other || item.base).text;
    const li = el("li", { class: `change ${item.kind}${i === P.index ? " active" : ""}`, "data-kind": item.kind,
      "data-quotation": item.other ? item.other.id : item.base.id, tabindex: "-1" },
      el("span", { class: `badge ch-${item.kind}`, text: KIND_TEXT[item.kind] }),
      el("q", { text: quote.length > 140 ? quote.slice(0, 140) + "…" : quote }),
      el("ul", { class: "change-detail" }, detail(item, ctx.R.info.codes).map((text) => el("li", { text }))));
    li.addEventListener("click", () => goTo(ctx, i));
    return li;
  });
  fill(P.panel,
    el("div", { class: "changes-head" }, el("h2", { text: "What changed" }),
      el("button", { type: "button", class: "link", text: "×", title: "Close (w)", onclick: () => toggleChanges(ctx) })),
    el("p", { class: "muted" }, "From ", earlier.length > 1 ? select : el("strong", { text: runLabel(data.base) }),
      " to ", el("strong", { text: runLabel(data.other) }), data.other.current ? " (shown)" : null),
    el("p", { id: "changes-summary", text: `${s.added} added · ${s.removed} removed · ${s.changed} changed · ${s.unchanged} unchanged` }),
    items.length ? el("ol", { class: "changes-list", id: "changes-list" }, items)
      : el("p", { class: "muted", text: "The two runs suggest the same quotations." }),
    el("p", { class: "muted small" }, kbd("["), kbd("]"), " previous / next change · ", kbd("w"), " close"));
}

function flash(container, start, end) {
  const segs = [...container.querySelectorAll(".seg")].filter((seg) => +seg.dataset.s < end && +seg.dataset.e > start);
  if (!segs.length) return;
  segs[0].scrollIntoView({ block: "center" });
  segs.forEach((seg) => seg.classList.add("flash"));
  setTimeout(() => segs.forEach((seg) => seg.classList.remove("flash")), 2500);
}

// Show one change: select its quotation in the document, or flash where a removed one was.
function goTo(ctx, i) {
  const item = P.data.changes[i];
  if (!item) return;
  P.index = i;
  P.panel.querySelectorAll("li.change").forEach((li, j) => li.classList.toggle("active", j === i));
  const target = P.panel.querySelectorAll("li.change")[i];
  if (target) target.scrollIntoView({ block: "nearest" });
  const shown = item.other && P.data.other.current && ctx.R.doc.quotations.some((q) => q.id === item.other.id);
  if (shown) {
    S.filterCode = null;
    ctx.select(item.other.id);
  } else {
    const span = item.other || item.base;
    flash(document.getElementById("doc"), span.start, span.end);
    toast(item.kind === "removed" ? "The earlier run had a quotation here; the new run does not." : "This quotation is not in the run shown.");
  }
}

// Open the panel when the transcript loads next (a re-run just finished), comparing with the run before.
export function openChangesOnLoad() {
  Object.assign(P, { open: true, base: null, index: -1 });
}

// `[` and `]` while the panel is open.
export function stepChange(ctx, step) {
  if (!P.open || !P.data || !P.data.changes.length) return false;
  const next = Math.max(0, Math.min(P.index + step, P.data.changes.length - 1));
  goTo(ctx, P.index < 0 && step < 0 ? 0 : next);
  return true;
}
