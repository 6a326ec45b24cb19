// Shared state of the page and small DOM helpers.
import { get } from "./api.js";

const VIEW_KEY = "qcoder.reviewerView";
const QUEUE_KEY = "qcoder.queueMode";
const UNDO_KEY = "qcoder.undo";

export const S = {
  me: null,
  projects: new Map(), // project id -> {project, codebook, codes: {id: code}}
  keys: null, // the active view's keyboard handler: (event) => handled?
  lastTranscript: null,
  filterCode: null,
  get reviewerView() {
    return sessionStorage.getItem(VIEW_KEY) || "me";
  },
  set reviewerView(value) {
    sessionStorage.setItem(VIEW_KEY, value);
  },
  get viewChosen() {
    return sessionStorage.getItem(VIEW_KEY) !== null;
  },
  get queueMode() {
    return sessionStorage.getItem(QUEUE_KEY) || "document";
  },
  set queueMode(value) {
    sessionStorage.setItem(QUEUE_KEY, value);
  },
  // Your decisions of this session, newest last: {transcript_id, quotation_id, event_id, action}.
  get undo() {
    return JSON.parse(sessionStorage.getItem(UNDO_KEY) || "[]");
  },
  set undo(stack) {
    sessionStorage.setItem(UNDO_KEY, JSON.stringify(stack.slice(-200)));
  },
};

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style") node.style.cssText = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// Replace the children of `node`, skipping null and false (left by optional parts).
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function kbd(keys) {
  return el("kbd", { text: keys });
}

let toastTimer = null;

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = `show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.className = ""), kind === "info" ? 2500 : 6000);
}

export function setCrumbs(items) {
  const nav = document.getElementById("crumbs");
  fill(nav, ...items.flatMap((item, i) => [
    i ? el("span", { class: "sep", text: "›" }) : null,
    item.href ? el("a", { href: item.href, text: item.label }) : el("span", { text: item.label }),
  ]));
}

export function setToolbar(...nodes) {
  fill(document.getElementById("toolbar"), ...nodes);
}

// The project with its codebook, fetched once per page load.
export async function projectInfo(projectId) {
  if (!S.projects.has(projectId)) {
    const [project, codebook] = await Promise.all([
      get(`/projects/${projectId}`),
      get(`/projects/${projectId}/codebook`),
    ]);
    const codes = Object.fromEntries(codebook.codes.map((c) => [c.id, c]));
    S.projects.set(projectId, { project, codebook, codes });
  }
  return S.projects.get(projectId);
}

export function progressBar(done, total, label) {
  const pct = total ? Math.round((100 * done) / total) : 0;
  return el("span", { class: "progress", title: label || `${done} of ${total}` },
    el("span", { class: "bar" }, el("span", { class: "fill", style: `width:${pct}%` })),
    el("span", { class: "progress-text", text: label || `${done} / ${total}` }));
}
