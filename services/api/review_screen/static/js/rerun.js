// "Re-run…": process the open transcript again with a chosen model version, follow the job, then
// show the new run with the "What changed" panel open. Only researchers and admins may re-run
// (the API's UPLOAD_ROLES); for others the button is not shown.
import { get, post } from "./api.js";
import { openChangesOnLoad } from "./changes.js";
import { open } from "./dialogs.js";
import { el, toast } from "./state.js";

const RERUN_ROLES = ["researcher", "admin"];
const POLL_MS = 1500;
let pollTimer = null;

// The toolbar control: a slot holding the button, or the running job's status.
export function rerunSlot(ctx) {
  const slot = el("span", { id: "rerun-slot" });
  if (!RERUN_ROLES.includes(ctx.R.info.project.role)) return slot;
  clearTimeout(pollTimer);
  slot.append(el("button", { type: "button", class: "tool", id: "rerun-button", text: "Re-run…",
    title: "Process this transcript again with a model version of your choice", onclick: () => startRerun(ctx, slot) }));
  return slot;
}

function f1Text(version) {
  const f1 = version.scores ? version.scores.knelpunt_micro_f1 : null;
  return typeof f1 === "number" ? `knelpunt micro-F1 ${f1.toFixed(2)}` : "knelpunt micro-F1 —";
}

// The dialog: one radio per model version, the project's active one chosen and marked. `submit`
// starts the job; its error (404 unknown version, 409 already queued) stays in the dialog.
function chooseVersion(models, submit) {
  return open((box, finish) => {
    box.classList.add("rerun");
    const error = el("p", { class: "error", id: "rerun-error", role: "alert" });
    const options = models.versions.map((v) => el("label", { class: "rerun-option", "data-version": v.version },
      el("input", { type: "radio", name: "rerun-version", value: v.version, checked: v.version === models.active }),
      el("strong", { text: v.version }),
      v.version === models.active ? el("span", { class: "status-chip ready", text: "active" }) : null,
      el("span", { class: "muted", text: ` ${f1Text(v)}${v.snapshot_name ? " · " + v.snapshot_name : ""}` })));
    const button = el("button", { type: "submit", id: "rerun-submit", text: "Re-run" });
    const form = el("form", { id: "rerun-form" },
      el("h2", { text: "Re-run this transcript" }),
      el("p", { class: "muted", text: "The new run becomes the one you review; the earlier run and its decisions are kept." }),
      options.length ? el("div", { class: "rerun-options" }, options)
        : el("p", { text: "No model version is listed; the project's active model is used." }),
      error,
      el("div", { class: "rerun-buttons" }, button,
        el("button", { type: "button", text: "Cancel (Esc)", onclick: () => finish(null) })));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const picked = form.querySelector("input[name=rerun-version]:checked");
      const version = picked ? picked.value : null;
      button.disabled = true;
      error.textContent = "";
      try {
        await submit(version);
        finish(version || models.active || "the active model");
      } catch (err) {
        error.textContent = `Re-run not started: ${err.message}`;
        button.disabled = false;
        button.focus(); // disabling it moved the focus out of the dialog, where Esc would not reach it
      }
    });
    box.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      finish(null);
    });
    box.append(form);
  });
}

async function startRerun(ctx, slot) {
  const transcript = ctx.R.doc.transcript;
  let models;
  try {
    models = await get(`/projects/${transcript.project_id}/models`);
  } catch (err) {
    return toast(`Cannot list the model versions: ${err.message}`, "error");
  }
  const label = await chooseVersion(models, (version) => post(`/transcripts/${transcript.id}/rerun`, { model_version: version }));
  if (!label) return;
  showStatus(slot, "queued", `Re-run with ${label}: queued`);
  follow(ctx, slot, transcript.id, label);
}

function showStatus(slot, kind, text) {
  slot.replaceChildren(el("span", { class: `status-chip ${kind}`, id: "rerun-status", text }));
}

// Poll the job until it is done or failed; then reload the document (if it is still open).
function follow(ctx, slot, transcriptId, label) {
  const tick = async () => {
    let status;
    try {
      status = await get(`/transcripts/${transcriptId}/status`);
    } catch (err) {
      showStatus(slot, "failed", `Re-run status unknown: ${err.message}`);
      return toast(err.message, "error");
    }
    const stillOpen = slot.isConnected;
    if (status.status === "queued" || status.status === "processing") {
      const stage = status.status === "processing" ? ` (${status.stage || "starting"} ${status.progress}%)` : "";
      showStatus(slot, status.status, `Re-run with ${label}: ${status.status}${stage}`);
      if (stillOpen) pollTimer = setTimeout(tick, POLL_MS);
      return;
    }
    if (status.status === "failed") {
      const reason = status.error_message || status.error_code || "unknown reason";
      if (stillOpen) showStatus(slot, "failed", `Re-run failed: ${reason}`);
      return toast(`Re-run failed: ${reason}`, "error");
    }
    toast(`Re-run with ${label} done.`);
    if (!stillOpen) return;
    openChangesOnLoad();
    await ctx.reload();
  };
  pollTimer = setTimeout(tick, POLL_MS);
}
