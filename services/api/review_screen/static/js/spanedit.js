// Adjusting a quotation's span (keyboard and drag handles), and a new quotation from the selected
// text or from a sentence. Works on the document view's state through its ctx (see review.js).
import { createFromSpan, decideAction } from "./decisions.js";
import { renderMargin, renderText } from "./document.js";
import { offsetFromPoint, selectionOffsets } from "./spans.js";
import { S, toast } from "./state.js";

export function startSpanEdit(ctx) {
  const { R } = ctx;
  const q = ctx.current();
  if (!q || !R.doc.can_decide) return;
  R.spanMode = "edit";
  R.preview = { start: q.start, end: q.end };
  ctx.render();
}

export function startNew(ctx) {
  const { R } = ctx;
  if (!R.doc.can_decide) return toast("Adding quotations needs the reviewer role.", "warn");
  const picked = selectionOffsets(ctx.ui.text);
  const q = ctx.current();
  if (picked) {
    const snapped = R.bounds.snapToWords(picked.start, picked.end);
    if (!snapped) return toast("Select some words first.", "warn");
    R.preview = snapped;
    R.fromSelection = true;
    window.getSelection().removeAllRanges();
  } else {
    const [start, end] = R.bounds.sentenceAt(q ? q.end : 0);
    R.preview = { start, end };
    R.fromSelection = false;
  }
  R.spanMode = "new";
  ctx.render();
  if (R.fromSelection) return finishSpan(ctx);
}

export function cancelSpan(ctx) {
  ctx.R.spanMode = null;
  ctx.R.preview = null;
  ctx.render();
}

async function finishSpan(ctx) {
  const { R } = ctx;
  const span = R.preview;
  if (R.spanMode === "new") {
    await createFromSpan(ctx, span); // on cancel the reviewer stays in "new" mode (Esc leaves it)
    return;
  }
  const q = ctx.current();
  R.spanMode = null;
  R.preview = null;
  if (!q || (q.start === span.start && q.end === span.end)) return ctx.render();
  await decideAction(ctx, q, "respan", { start: span.start, end: span.end });
}

// Keys while a span is being adjusted or chosen; true when the key was handled.
export function spanKey(ctx, event) {
  const { R } = ctx;
  const unit = event.ctrlKey ? "sentence" : "word";
  if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
    const dir = event.key === "ArrowRight" ? 1 : -1;
    R.preview = R.bounds.move(R.preview, event.shiftKey ? "start" : "end", dir, unit);
  } else if ((event.key === "ArrowUp" || event.key === "ArrowDown") && R.spanMode === "new") {
    R.preview = R.bounds.sentenceStep(R.preview, event.key === "ArrowDown" ? 1 : -1);
  } else if (event.key === "Enter") {
    finishSpan(ctx);
    return true;
  } else if (event.key === "Escape") {
    cancelSpan(ctx);
    return true;
  } else return event.key.length === 1; // swallow letters so no decision fires mid-edit
  ctx.render();
  const seg = ctx.ui.text.querySelector(".seg.pv");
  if (seg) seg.scrollIntoView({ block: "nearest" });
  return true;
}

// A handle of the span is being dragged to (x, y); `done` on release, which saves the new span.
export function onDrag(ctx, edge, x, y, done, bySentence) {
  const { R, ui } = ctx;
  const q = ctx.current();
  if (!R.preview) {
    if (!q) return;
    R.preview = { start: q.start, end: q.end };
    R.spanMode = R.spanMode || "drag";
  }
  const offset = offsetFromPoint(x, y);
  if (offset !== null) {
    const snapped = R.bounds.snapOffset(offset, edge, bySentence ? "sentence" : "word");
    const span = { ...R.preview, [edge]: snapped };
    if (span.end > span.start) R.preview = span;
  }
  if (!done) {
    const extents = renderText(ui.text, R.doc, { codes: R.info.codes, currentId: R.currentId, filterCode: S.filterCode, preview: R.preview });
    renderMargin(ui.margin, R.doc, { codes: R.info.codes, currentId: R.currentId }, extents, ctx.select);
    return;
  }
  if (R.spanMode === "drag") {
    R.spanMode = "edit";
    finishSpan(ctx);
  } else ctx.render();
}
