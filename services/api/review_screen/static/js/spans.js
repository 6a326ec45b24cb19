// Character offsets <-> DOM, and snapping spans to word or sentence boundaries.
// Every piece of rendered text is a <span class="seg" data-s data-e> holding one text node,
// so a DOM position maps to an absolute offset into the stored transcript text.

export class Boundaries {
  constructor(text, sentences, turns) {
    this.text = text;
    this.wordStarts = [];
    this.wordEnds = [];
    for (const match of text.matchAll(/\S+/g)) {
      // A word is what lies between white space; trailing punctuation stays with its word.
      this.wordStarts.push(match.index);
      this.wordEnds.push(match.index + match[0].length);
    }
    // Sentences of the segmenter; interviewer turns were not segmented, so a turn counts as one.
    const spans = sentences.map(([s, e]) => [s, e]);
    for (const turn of turns) {
      if (!spans.some(([s, e]) => s >= turn.start && e <= turn.end)) spans.push([turn.start, turn.end]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    this.sentences = spans;
    this.sentenceStarts = spans.map((s) => s[0]);
    this.sentenceEnds = spans.map((s) => s[1]);
  }

  // The next boundary in `list` after (dir 1) or before (dir -1) `offset`.
  static step(list, offset, dir) {
    if (dir > 0) return list.find((v) => v > offset) ?? null;
    for (let i = list.length - 1; i >= 0; i--) if (list[i] < offset) return list[i];
    return null;
  }

  // Move the end (edge "end") or the start (edge "start") of [start, end) by one word or sentence.
  move(span, edge, dir, unit) {
    const starts = unit === "sentence" ? this.sentenceStarts : this.wordStarts;
    const ends = unit === "sentence" ? this.sentenceEnds : this.wordEnds;
    let { start, end } = span;
    if (edge === "end") {
      const next = Boundaries.step(ends, end, dir);
      if (next !== null && next > start) end = next;
    } else {
      const next = Boundaries.step(starts, start, dir);
      if (next !== null && next < end) start = next;
    }
    return { start, end };
  }

  // Widen a raw selection to whole words and drop surrounding white space.
  snapToWords(start, end) {
    const text = this.text;
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    if (start >= end) return null;
    while (start > 0 && !/\s/.test(text[start - 1])) start--;
    while (end < text.length && !/\s/.test(text[end])) end++;
    return { start, end };
  }

  snapOffset(offset, edge, unit) {
    const list = edge === "end"
      ? (unit === "sentence" ? this.sentenceEnds : this.wordEnds)
      : (unit === "sentence" ? this.sentenceStarts : this.wordStarts);
    let best = list[0];
    for (const v of list) if (Math.abs(v - offset) < Math.abs(best - offset)) best = v;
    return best;
  }

  // The sentence containing `offset`, or the next one after it.
  sentenceAt(offset) {
    return this.sentences.find(([s, e]) => e > offset) || this.sentences[this.sentences.length - 1];
  }

  sentenceStep(span, dir) {
    const index = this.sentences.findIndex(([s]) => s >= span.start);
    let target = dir > 0 ? this.sentences.find(([s]) => s >= span.end) : null;
    if (dir < 0) {
      const before = this.sentences.filter(([, e]) => e <= span.start);
      target = before[before.length - 1];
    }
    if (!target && index >= 0) target = this.sentences[index];
    return target ? { start: target[0], end: target[1] } : span;
  }
}

// An absolute text offset for a DOM boundary point inside the document, or null.
export function pointToOffset(node, offset) {
  if (!node) return null;
  if (node.nodeType === Node.TEXT_NODE) {
    const seg = node.parentElement && node.parentElement.closest(".seg");
    return seg ? Number(seg.dataset.s) + offset : null;
  }
  const element = node;
  if (element.classList && element.classList.contains("seg")) {
    return offset === 0 ? Number(element.dataset.s) : Number(element.dataset.e);
  }
  const child = element.childNodes[offset];
  if (child) {
    const seg = child.nodeType === Node.ELEMENT_NODE
      ? (child.classList.contains("seg") ? child : child.querySelector(".seg"))
      : child.parentElement.closest(".seg");
    if (seg) return Number(seg.dataset.s);
  }
  const segs = element.querySelectorAll ? element.querySelectorAll(".seg") : [];
  return segs.length ? Number(segs[segs.length - 1].dataset.e) : null;
}

export function selectionOffsets(container) {
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
  const range = selection.getRangeAt(0);
  if (!container.contains(range.commonAncestorContainer)) return null;
  const start = pointToOffset(range.startContainer, range.startOffset);
  const end = pointToOffset(range.endContainer, range.endOffset);
  if (start === null || end === null || end <= start) return null;
  return { start, end };
}

export function offsetFromPoint(x, y) {
  if (document.caretPositionFromPoint) {
    const p = document.caretPositionFromPoint(x, y);
    return p ? pointToOffset(p.offsetNode, p.offset) : null;
  }
  const r = document.caretRangeFromPoint && document.caretRangeFromPoint(x, y);
  return r ? pointToOffset(r.startContainer, r.startOffset) : null;
}

// The screen rectangle of the caret at an absolute offset.
export function caretRect(container, offset) {
  const segs = container.querySelectorAll(".seg");
  for (const seg of segs) {
    const s = Number(seg.dataset.s);
    const e = Number(seg.dataset.e);
    if (offset >= s && offset <= e && seg.firstChild) {
      const range = document.createRange();
      range.setStart(seg.firstChild, Math.min(offset - s, seg.firstChild.length));
      range.collapse(true);
      const rects = range.getClientRects();
      if (rects.length) return rects[0];
      return seg.getBoundingClientRect();
    }
  }
  return null;
}
