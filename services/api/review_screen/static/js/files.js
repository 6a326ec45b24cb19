// Files from the API for the analysis view: downloads that carry the bearer token, and SVG charts
// made safe to show inline (the page's own origin holds the token, so nothing in an SVG may run).
import { ApiError, token } from "./api.js";
import { el } from "./state.js";

const BASE = "/api/v1";
const SVG_NS = "http://www.w3.org/2000/svg";
// What matplotlib draws with; anything else (script, foreignObject, style, a, animate, ...) is dropped.
const SVG_ELEMENTS = new Set(["svg", "g", "defs", "clipPath", "path", "rect", "use", "image", "text", "tspan", "title",
  "desc", "circle", "ellipse", "line", "polyline", "polygon", "linearGradient", "radialGradient", "stop", "pattern", "mask"]);
const RASTER = /^data:image\/(png|jpeg);base64,/;

/** GET a file from the API with the user's token; throws ApiError like the JSON calls. */
export async function fetchFile(path) {
  const response = await fetch(BASE + path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  return response;
}

/** The file name a Content-Disposition header gives (the exact UTF-8 name first), else `fallback`. */
export function fileName(disposition, fallback) {
  const exact = /filename\*=UTF-8''([^;]+)/i.exec(disposition || "");
  if (exact) {
    try {
      return decodeURIComponent(exact[1]);
    } catch {
      // a malformed exact name: the plain one below still names the file
    }
  }
  const plain = /filename="([^"]+)"/i.exec(disposition || "");
  return plain ? plain[1] : fallback;
}

/** Download an API file: a plain link cannot send the Authorization header, so fetch it and save the blob. */
export async function download(path, fallback) {
  const response = await fetchFile(path);
  const name = fileName(response.headers.get("Content-Disposition"), fallback);
  const url = URL.createObjectURL(await response.blob());
  // `download` saves the blob instead of opening it: an HTML report never runs as a page of this origin.
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/** Parse SVG text into an element for the page, keeping only drawing; ids get `prefix` so two charts never clash. */
export function safeSvg(text, prefix) {
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = parsed.documentElement;
  if (parsed.getElementsByTagName("parsererror").length || root.namespaceURI !== SVG_NS || root.localName !== "svg") {
    throw new Error("The chart is not a valid SVG image.");
  }
  for (const node of [...root.getElementsByTagName("*")]) {
    if (node.namespaceURI !== SVG_NS || !SVG_ELEMENTS.has(node.localName)) node.remove();
    else cleanAttributes(node, prefix);
  }
  cleanAttributes(root, prefix);
  return document.importNode(root, true);
}

function cleanAttributes(node, prefix) {
  for (const attr of [...node.attributes]) {
    const name = attr.localName.toLowerCase();
    const value = attr.value;
    if (name.startsWith("on")) node.removeAttributeNode(attr);
    else if (name === "href") {
      if (value.startsWith("#")) attr.value = `#${prefix}${value.slice(1)}`;
      else if (!(node.localName === "image" && RASTER.test(value))) node.removeAttributeNode(attr);
    } else if (name === "id" && !attr.namespaceURI) attr.value = prefix + value;
    else if (/url\s*\(/i.test(value)) {
      // Only references inside this SVG: url(...) to anywhere else could load from outside.
      if (/url\s*\(\s*(?!['"]?#)/i.test(value)) node.removeAttributeNode(attr);
      else attr.value = value.replace(/url\s*\(\s*(['"]?)#/gi, `url($1#${prefix}`);
    }
  }
}
