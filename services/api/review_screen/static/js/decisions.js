// Sending decisions: each one is an event on the server, based on the state the reviewer saw.
// A 409 means someone changed the quotation meanwhile: nothing is overwritten silently.
import { ApiError, get, post, query } from "./api.js";
import { editMemo, pickCode, pickStance } from "./dialogs.js";
import { S, toast } from "./state.js";

function codeLabel(codes, id) {
  const code = codes[id];
  return code ? `${code.number ? code.number + " " : ""}${code.name}` : id;
}

function pushUndo(quotation, event) {
  S.undo = [...S.undo, { transcript_id: quotation.transcript_id, quotation_id: quotation.id, event_id: event.id,
    action: event.action }];
}

// Ask for what the action needs (a code, a stance, a memo), then send it.
export async function decideAction(ctx, q, action, extra) {
  const { R } = ctx;
  if (!R.doc.can_decide) {
    toast("Deciding needs the reviewer role in this project.", "warn");
    return null;
  }
  const codes = R.info.codes;
  const suggested = q.machine ? q.machine.codes.map((c) => c.id) : [];
  let payload = extra || {};
  if (action === "relabel") {
    if (!q.codes.length) return decideAction(ctx, q, "add_code");
    const from = q.codes[0];
    const to = await pickCode(R.info.codebook, { title: `Change code “${codeLabel(codes, from)}” to…`, exclude: q.codes, suggested });
    if (!to) return null;
    payload = { from, to };
  } else if (action === "add_code") {
    const code = await pickCode(R.info.codebook, { title: "Add a code", exclude: q.codes, suggested });
    if (!code) return null;
    payload = { code_id: code };
  } else if (action === "remove_code") {
    if (q.codes.length < 2) {
      toast("This is the only code; reject the quotation with r instead.");
      return null;
    }
    payload = { code_id: q.codes[q.codes.length - 1] };
  } else if (action === "set_stance") {
    const stance = await pickStance(q.stance);
    if (!stance) return null;
    payload = { stance };
  } else if (action === "comment") {
    const text = await editMemo(q.text);
    if (!text) return null;
    payload = { text };
  }
  const result = await send(ctx, q, action, payload);
  if (result && (action === "confirm" || action === "reject")) await ctx.advance(q.id);
  return result;
}

async function send(ctx, q, action, payload, retried = false) {
  const { R } = ctx;
  try {
    const body = { action, payload, based_on_event_id: q.last_event_id };
    const answer = await post(`/quotations/${q.id}/decisions${query({ reviewer: S.reviewerView })}`, body);
    if (answer.quotation.transcript_id === R.doc.transcript.id) ctx.replaceQuotation(answer.quotation);
    if (action !== "undo") pushUndo(answer.quotation, answer.event);
    R.spanMode = null;
    R.preview = null;
    ctx.render();
    return answer;
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && !retried) return conflict(ctx, q, action, payload);
    toast(err.message, "error");
    return null;
  }
}

function sameState(a, b) {
  return a.start === b.start && a.end === b.end && a.status === b.status && a.stance === b.stance
    && a.codes.join() === b.codes.join() && a.comments.length === b.comments.length;
}

async function conflict(ctx, q, action, payload) {
  const fresh = await get(`/quotations/${q.id}/review${query({ reviewer: S.reviewerView })}`);
  if (fresh.transcript_id === ctx.R.doc.transcript.id) ctx.replaceQuotation(fresh);
  if (sameState(fresh, q)) {
    // Another reviewer decided independently; what you decided on is still what you see, so both count.
    toast("Another reviewer also decided this quotation; both decisions are kept.");
    return send(ctx, fresh, action, payload, true);
  }
  ctx.render();
  toast("This quotation was changed meanwhile (another window or reviewer). Its current state is shown; decide again.", "warn");
  return null;
}

export async function createFromSpan(ctx, span) {
  const { R } = ctx;
  const code = await pickCode(R.info.codebook, { title: "Code for the new quotation" });
  if (!code) return null;
  const kind = R.info.codes[code].kind;
  const stance = kind === "oplossing" ? "oplossing" : kind === "knelpunt" ? "knelpunt" : null;
  try {
    const answer = await post(`/transcripts/${R.doc.transcript.id}/review/quotations${query({ reviewer: S.reviewerView })}`,
      { start: span.start, end: span.end, codes: [code], stance });
    R.spanMode = null;
    R.preview = null;
    ctx.replaceQuotation(answer.quotation);
    pushUndo(answer.quotation, answer.event);
    ctx.select(answer.quotation.id);
    toast("Quotation added.");
    return answer;
  } catch (err) {
    toast(err.message, "error");
    return null;
  }
}

// Undo your newest decision of this session (also in another transcript).
export async function undoLast(ctx) {
  const { R } = ctx;
  const stack = S.undo;
  const entry = stack.pop();
  if (!entry) return toast("Nothing to undo in this session.");
  const q = R.doc.quotations.find((x) => x.id === entry.quotation_id)
    || await get(`/quotations/${entry.quotation_id}/review${query({ reviewer: S.reviewerView })}`);
  const answer = await send(ctx, q, "undo", { event_id: entry.event_id });
  if (!answer) return;
  S.undo = stack;
  toast(`Undone: ${entry.action}.`);
  if (entry.transcript_id !== R.doc.transcript.id) location.hash = `#/t/${entry.transcript_id}/${entry.quotation_id}`;
  else if (answer.quotation.visible !== false) ctx.select(entry.quotation_id);
}
