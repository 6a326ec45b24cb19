// The document view: the transcript as written, speaker turns, highlighted quotations, and the
// margin beside it with the code labels of each quotation aligned to its text (as ATLAS.ti does).
import { caretRect } from "./spans.js";

const BRACKET_LANE_PX = 7;
const MAX_LANES = 6;

export function rgba(hex, alpha) {
  const n = parseInt((hex || "#888888").slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export function quotationColor(q, codes) {
  const id = q.codes[0] || q.rejected_codes[0] || (q.machine && q.machine.codes[0] && q.machine.codes[0].id);
  return (codes[id] && codes[id].color) || "#888888";
}

export function scoreOf(q, codeId) {
  const hit = q.machine && q.machine.codes.find((c) => c.id === codeId);
  return hit ? hit.score : null;
}

export function matchesFilter(q, filterCode) {
  if (!filterCode) return true;
  return q.codes.includes(filterCode) || q.rejected_codes.includes(filterCode);
}

// Regions of the text: front matter, then per turn its speaker label and its spoken text.
function regionsOf(text, turns) {
  const regions = [];
  let cursor = 0;
  if (!turns.length) return [{ start: 0, end: text.length, kind: "turn", role: "respondent", index: 0 }];
  turns.forEach((turn, i) => {
    const lineStart = text.lastIndexOf("\n", turn.start - 1) + 1;
    const labelStart = Math.max(lineStart, cursor);
    if (labelStart > cursor) regions.push({ start: cursor, end: labelStart, kind: i === 0 ? "header" : "gap" });
    regions.push({ start: labelStart, end: turn.end, label: turn.start, kind: "turn", role: turn.role,
      index: turn.index, speaker: turn.speaker });
    cursor = turn.end;
  });
  if (cursor < text.length) regions.push({ start: cursor, end: text.length, kind: "gap" });
  return regions;
}

function segment(start, end, text, className) {
  const seg = document.createElement("span");
  seg.className = "seg" + (className ? " " + className : "");
  seg.dataset.s = start;
  seg.dataset.e = end;
  seg.textContent = text.slice(start, end);
  return seg;
}

// Render the text with quotations; returns {quotationId: [firstSeg, lastSeg]} for the margin.
export function renderText(container, doc, view) {
  const { text, turns } = doc;
  const shown = doc.quotations.filter((q) => matchesFilter(q, view.filterCode));
  const byLength = [...shown].sort((a, b) => (a.end - a.start) - (b.end - b.start));
  const extents = {};
  const fragment = document.createDocumentFragment();
  for (const region of regionsOf(text, turns)) {
    if (region.kind === "gap" && !text.slice(region.start, region.end).trim()) continue;
    const block = document.createElement("div");
    if (region.kind !== "turn") {
      block.className = region.kind;
      block.appendChild(segment(region.start, region.end, text));
      fragment.appendChild(block);
      continue;
    }
    block.className = `turn ${region.role}`;
    block.dataset.turn = region.index;
    if (region.label > region.start) block.appendChild(segment(region.start, region.label, text, "lbl"));
    const cuts = new Set([region.label, region.end]);
    for (const q of shown) {
      for (const v of [q.start, q.end]) if (v > region.label && v < region.end) cuts.add(v);
    }
    if (view.preview) {
      for (const v of [view.preview.start, view.preview.end]) if (v > region.label && v < region.end) cuts.add(v);
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i < points.length - 1; i++) {
      const [a, b] = [points[i], points[i + 1]];
      const covering = byLength.filter((q) => q.start <= a && b <= q.end);
      const seg = segment(a, b, text);
      if (covering.length) decorate(seg, covering, view);
      if (view.preview && view.preview.start <= a && b <= view.preview.end) seg.classList.add("pv");
      for (const q of covering) {
        if (!extents[q.id]) extents[q.id] = [seg, seg];
        extents[q.id][1] = seg;
      }
      block.appendChild(seg);
    }
    fragment.appendChild(block);
  }
  container.replaceChildren(fragment);
  return extents;
}

function decorate(seg, covering, view) {
  const inner = covering[0];
  const color = quotationColor(inner, view.codes);
  const current = covering.find((q) => q.id === view.currentId);
  seg.classList.add("hl", `st-${inner.status}`);
  seg.dataset.q = covering.map((q) => q.id).join(" ");
  const alpha = current ? 0.42 : inner.status === "rejected" ? 0.1 : 0.22;
  seg.style.backgroundColor = rgba(current ? quotationColor(current, view.codes) : color, alpha);
  if (current) seg.classList.add("cur");
  if (covering.length > 1) {
    seg.style.boxShadow = `inset 0 -3px 0 ${rgba(quotationColor(covering[1], view.codes), 0.85)}`;
  }
  if (inner.status === "confirmed") seg.style.borderBottomColor = color;
}

const STATUS_MARK = { confirmed: "✓", rejected: "✗", edited: "✎", unreviewed: "•" };

// Brackets in lanes, labels in one column pushed down so they never overlap.
export function renderMargin(margin, doc, view, extents, onPick) {
  margin.replaceChildren();
  const origin = margin.getBoundingClientRect().top;
  const items = [];
  for (const q of doc.quotations) {
    const pair = extents[q.id];
    if (!pair) continue;
    const firstRects = pair[0].getClientRects();
    const lastRects = pair[1].getClientRects();
    if (!firstRects.length || !lastRects.length) continue;
    items.push({ q, top: firstRects[0].top - origin, bottom: lastRects[lastRects.length - 1].bottom - origin });
  }
  items.sort((a, b) => a.top - b.top || b.bottom - a.bottom);
  const laneEnds = [];
  for (const item of items) {
    let lane = laneEnds.findIndex((end) => end < item.top - 1);
    if (lane === -1) lane = laneEnds.length;
    laneEnds[lane] = item.bottom;
    item.lane = Math.min(lane, MAX_LANES - 1);
  }
  const labelLeft = Math.min(laneEnds.length, MAX_LANES) * BRACKET_LANE_PX + 6;
  let labelBottom = -Infinity;
  for (const item of items) {
    const { q } = item;
    const color = quotationColor(q, view.codes);
    const bracket = document.createElement("div");
    bracket.className = `bracket st-${q.status}` + (q.id === view.currentId ? " cur" : "");
    bracket.style.top = `${item.top}px`;
    bracket.style.height = `${Math.max(item.bottom - item.top, 6)}px`;
    bracket.style.left = `${item.lane * BRACKET_LANE_PX}px`;
    bracket.style.borderColor = color;
    margin.appendChild(bracket);

    const label = document.createElement("div");
    label.className = `mlabel st-${q.status}` + (q.id === view.currentId ? " cur" : "");
    label.dataset.q = q.id;
    label.style.left = `${labelLeft}px`;
    label.title = q.text.slice(0, 200);
    const mark = document.createElement("span");
    mark.className = "status";
    mark.textContent = STATUS_MARK[q.status] || "•";
    label.appendChild(mark);
    const chips = document.createElement("span");
    chips.className = "chips";
    const codeIds = q.codes.length ? q.codes : q.rejected_codes;
    for (const id of codeIds) chips.appendChild(codeChip(id, view.codes, scoreOf(q, id), q.status === "rejected"));
    if (!codeIds.length) chips.appendChild(document.createTextNode("(no code)"));
    label.appendChild(chips);
    if (q.comments.length) {
      const memo = document.createElement("span");
      memo.className = "memo-mark";
      memo.textContent = "✉";
      memo.title = `${q.comments.length} memo`;
      label.appendChild(memo);
    }
    label.addEventListener("mousedown", (event) => {
      event.preventDefault();
      onPick(q.id);
    });
    margin.appendChild(label);
    const top = Math.max(item.top, labelBottom + 2);
    label.style.top = `${top}px`;
    labelBottom = top + label.offsetHeight;
  }
  margin.style.minHeight = `${Math.max(labelBottom, 0)}px`;
}

export function codeChip(id, codes, score, struck) {
  const code = codes[id];
  const chip = document.createElement("span");
  chip.className = "chip" + (struck ? " struck" : "");
  chip.style.borderLeftColor = code ? code.color : "#888";
  const name = document.createElement("span");
  name.className = "chip-id";
  name.textContent = code && code.number ? `${code.number} ${code.name}` : code ? code.name : id;
  chip.title = `${id}${code ? " · " + code.name : ""}${score !== null ? ` · confidence ${score.toFixed(2)}` : ""}`;
  chip.appendChild(name);
  if (score !== null && score !== undefined) {
    const conf = document.createElement("span");
    conf.className = "conf" + (score < 0.5 ? " low" : "");
    conf.textContent = score.toFixed(2);
    chip.appendChild(conf);
  }
  return chip;
}

// Drag handles at the two ends of a span; `onDrag(edge, clientX, clientY, done)`.
export function renderHandles(layer, container, span, onDrag) {
  layer.replaceChildren();
  if (!span) return;
  const origin = layer.getBoundingClientRect();
  for (const edge of ["start", "end"]) {
    const rect = caretRect(container, edge === "start" ? span.start : span.end);
    if (!rect) continue;
    const handle = document.createElement("div");
    handle.className = `handle ${edge}`;
    handle.title = edge === "start" ? "Drag the start (word boundary; Alt: sentence)" : "Drag the end (word boundary; Alt: sentence)";
    handle.style.left = `${rect.left - origin.left - 4}px`;
    handle.style.top = `${rect.top - origin.top}px`;
    handle.style.height = `${rect.height}px`;
    handle.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      handle.setPointerCapture(event.pointerId);
      const move = (e) => onDrag(edge, e.clientX, e.clientY, false, e.altKey);
      const up = (e) => {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", up);
        onDrag(edge, e.clientX, e.clientY, true, e.altKey);
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", up);
    });
    layer.appendChild(handle);
  }
}
