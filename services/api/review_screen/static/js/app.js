// Entry point: login, routing, the project list and the project overview.
import { ApiError, get, login, logout, token } from "./api.js";
import { dialogOpen, showHelp } from "./dialogs.js";
import { showAnalysis } from "./analysis.js";
import { showCodeManager } from "./codes.js";
import { showTranscript } from "./review.js";
import { S, el, kbd, progressBar, projectInfo, setCrumbs, setToolbar, toast } from "./state.js";

const view = () => document.getElementById("view");
let pollTimer = null;

function showLogin(message) {
  S.keys = null;
  setCrumbs([]);
  setToolbar();
  document.getElementById("who").replaceChildren();
  const error = el("p", { class: "error", id: "login-error", text: message || "" });
  const form = el("form", { class: "login", id: "login-form" },
    el("h1", { text: "qcoder review" }),
    el("label", {}, "Username", el("input", { name: "username", id: "username", autocomplete: "username", required: true })),
    el("label", {}, "Password", el("input", { name: "password", id: "password", type: "password",
      autocomplete: "current-password", required: true })),
    el("button", { type: "submit", id: "login-button", text: "Log in" }),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await login(form.username.value, form.password.value);
      S.me = await get("/auth/me");
      await route();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  view().replaceChildren(form);
  form.username.focus();
}

function showWho() {
  const out = el("button", { type: "button", class: "link", text: "Log out", onclick: async () => {
    await logout();
    S.me = null;
    location.hash = "#/";
    showLogin();
  } });
  document.getElementById("who").replaceChildren(el("span", { text: S.me.username }), out);
}

async function showProjects() {
  const projects = await get("/projects");
  setCrumbs([{ label: "Projects" }]);
  setToolbar(el("button", { type: "button", class: "tool", onclick: showHelp }, "Help ", kbd("?")));
  const rows = projects.map((p) => el("li", { class: "row", tabindex: "-1", "data-href": `#/p/${p.id}` },
    el("a", { href: `#/p/${p.id}`, text: p.name }), el("span", { class: "muted", text: ` ${p.role} · ${p.codebook_key} ${p.codebook_version}` })));
  view().replaceChildren(el("section", { class: "page" }, el("h1", { text: "Projects" }),
    rows.length ? el("ul", { class: "rows" }, rows) : el("p", { text: "You are not a member of any project yet." })));
  S.keys = listKeys(rows);
}

// j/k or arrows move through rows, Enter opens the focused one.
function listKeys(rows, extra = () => false) {
  let index = -1;
  const focus = (i) => {
    index = Math.max(0, Math.min(i, rows.length - 1));
    rows.forEach((r, j) => r.classList.toggle("active", j === index));
    if (rows[index]) {
      rows[index].scrollIntoView({ block: "nearest" });
      S.focusedRow = rows[index].dataset.href;
    }
  };
  // Keep the focused row when the list is redrawn (the overview refreshes while transcripts process).
  if (rows.length) focus(Math.max(0, rows.findIndex((r) => r.dataset.href === S.focusedRow)));
  return (event) => {
    if (event.key === "j" || event.key === "ArrowDown") focus(index + 1);
    else if (event.key === "k" || event.key === "ArrowUp") focus(index - 1);
    else if (event.key === "Enter" && rows[index]) location.hash = rows[index].dataset.href;
    else if (event.key === "?") showHelp();
    else return extra(event);
    return true;
  };
}

const STATUS_TEXT = {
  queued: "queued", processing: "processing", failed: "failed", ready: "ready", in_review: "in review", reviewed: "reviewed",
};

async function showOverview(projectId) {
  const info = await projectInfo(projectId);
  const rows = await get(`/projects/${projectId}/review/progress?reviewer=${S.reviewerView}`);
  setCrumbs([{ label: "Projects", href: "#/" }, { label: info.project.name }]);
  const start = async (mode) => {
    S.queueMode = mode;
    const queue = await get(`/projects/${projectId}/review/queue?mode=${mode}&reviewer=${S.reviewerView}&limit=1`);
    if (!queue.length) toast("Nothing left to review in this project.");
    else location.hash = `#/t/${queue[0].transcript_id}/${queue[0].quotation_id}`;
  };
  setToolbar(
    el("button", { type: "button", class: "tool", onclick: () => start("document") }, "Review in document order ", kbd("d")),
    el("button", { type: "button", class: "tool", onclick: () => start("uncertainty") }, "Lowest confidence first ", kbd("u")),
    el("a", { class: "tool", href: `#/p/${projectId}/codes` }, "Code manager ", kbd("g")),
    el("a", { class: "tool", href: `#/p/${projectId}/analysis`, id: "open-analysis" }, "Analysis ", kbd("a")),
    el("button", { type: "button", class: "tool", onclick: showHelp }, "Help ", kbd("?")),
  );
  const total = rows.reduce((n, r) => n + r.progress.total, 0);
  const reviewed = rows.reduce((n, r) => n + r.progress.reviewed, 0);
  const trs = rows.map((r) => {
    const status = el("span", { class: `status-chip ${r.review_status}`, text: STATUS_TEXT[r.review_status] || r.review_status });
    const detail = r.processing
      ? progressBar(r.processing.percent, 100, `${r.processing.stage || "waiting"} ${r.processing.percent}%`)
      : r.status === "failed" ? el("span", { class: "error", text: r.error_message || "" })
        : progressBar(r.progress.reviewed, r.progress.total, `${r.progress.reviewed} / ${r.progress.total} reviewed`);
    return el("tr", { class: "row", "data-href": `#/t/${r.transcript_id}`, "data-transcript": r.transcript_id },
      el("td", {}, el("a", { href: `#/t/${r.transcript_id}`, text: r.filename })),
      el("td", { text: r.respondent_id || "" }), el("td", { text: r.case_name || "" }),
      el("td", {}, status), el("td", {}, detail));
  });
  const table = el("table", { class: "overview", id: "overview" },
    el("thead", {}, el("tr", {}, ["Transcript", "Respondent", "Case", "Status", "Progress"].map((h) => el("th", { text: h })))),
    el("tbody", {}, trs));
  view().replaceChildren(el("section", { class: "page" },
    el("h1", { text: info.project.name }),
    el("p", { class: "muted" }, `${rows.length} transcripts · `, progressBar(reviewed, total, `${reviewed} / ${total} quotations reviewed`),
      ` · your role: ${info.project.role} · view: ${S.reviewerView === "me" ? "my review" : "all reviewers"}`),
    table));
  S.keys = listKeys(trs, (event) => {
    if (event.key === "d") start("document");
    else if (event.key === "u") start("uncertainty");
    else if (event.key === "g") location.hash = `#/p/${projectId}/codes`;
    else if (event.key === "a") location.hash = `#/p/${projectId}/analysis`;
    else return false;
    return true;
  });
  if (rows.some((r) => r.status === "queued" || r.status === "processing")) {
    pollTimer = setTimeout(() => {
      if (location.hash === `#/p/${projectId}`) route();
    }, 2000);
  }
}

export async function route() {
  clearTimeout(pollTimer);
  if (!token()) return showLogin();
  try {
    if (!S.me) S.me = await get("/auth/me");
    showWho();
    const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
    if (parts[0] === "p" && parts[2] === "codes") return await showCodeManager(parts[1], parts[3] || null);
    if (parts[0] === "p" && parts[2] === "analysis") return await showAnalysis(parts[1], parts[3] || null, parts[4] || null);
    if (parts[0] === "p" && parts[1]) return await showOverview(parts[1]);
    if (parts[0] === "t" && parts[1]) return await showTranscript(parts[1], parts[2] || null);
    return await showProjects();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showLogin("Your session has ended; log in again.");
    view().replaceChildren(el("section", { class: "page" }, el("h1", { text: "Cannot show this" }),
      el("p", { class: "error", text: err.message }), el("p", {}, el("a", { href: "#/", text: "Back to projects" }))));
    S.keys = null;
    if (!(err instanceof ApiError)) console.error(err);
  }
}

document.addEventListener("keydown", (event) => {
  if (dialogOpen() || event.defaultPrevented) return;
  const target = event.target;
  if (target && target.matches && target.matches("input, textarea, select")) return;
  if (event.metaKey || (event.altKey && !event.key.startsWith("Arrow"))) return;
  if (S.keys && S.keys(event)) event.preventDefault();
});
window.addEventListener("hashchange", route);
route();
