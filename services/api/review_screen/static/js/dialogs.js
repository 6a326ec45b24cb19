// Modal dialogs: the searchable code picker, the stance picker, the memo editor, the help overlay.
// Each returns a promise that resolves with the choice, or null when the reviewer presses Esc.

const overlay = () => document.getElementById("overlay");
let closeCurrent = null;

export function dialogOpen() {
  return closeCurrent !== null;
}

// Open a modal dialog; `build(box, finish)` fills it. Also used by rerun.js.
export function open(build) {
  if (closeCurrent) closeCurrent(null);
  return new Promise((resolve) => {
    const root = overlay();
    const box = document.createElement("div");
    box.className = "dialog";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    const finish = (value) => {
      closeCurrent = null;
      root.hidden = true;
      root.replaceChildren();
      resolve(value);
    };
    closeCurrent = finish;
    build(box, finish);
    root.replaceChildren(box);
    root.hidden = false;
    root.onmousedown = (event) => {
      if (event.target === root) finish(null);
    };
    const first = box.querySelector("input, textarea, button");
    if (first) first.focus();
  });
}

function fold(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

// Categories A-E with their knelpunten, then the oplossingsrichtingen.
export function pickCode(codebook, { title, exclude = [], suggested = [] }) {
  const groups = codebook.categories.map((cat) => ({
    title: `${cat.id} · ${cat.name}`,
    codes: codebook.codes.filter((c) => c.kind === "knelpunt" && c.category === cat.id),
  }));
  groups.push({ title: "Oplossingsrichtingen", codes: codebook.codes.filter((c) => c.kind === "oplossing") });
  return open((box, finish) => {
    box.classList.add("picker");
    const heading = document.createElement("h2");
    heading.textContent = title;
    const input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Search: number, name or category (↑↓ move, Enter choose, Esc cancel)";
    input.setAttribute("aria-label", "Search a code");
    input.id = "code-search";
    const list = document.createElement("div");
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    box.append(heading, input, list);
    let options = [];
    let active = 0;

    const render = () => {
      const needle = fold(input.value.trim());
      list.replaceChildren();
      options = [];
      for (const group of groups) {
        const matches = group.codes.filter((code) => {
          if (exclude.includes(code.id)) return false;
          if (!needle) return true;
          if (/^\d+$/.test(needle)) return String(code.number) === needle;
          return fold(`${code.id} ${code.number ?? ""} ${code.name} ${group.title}`).includes(needle);
        });
        if (!matches.length) continue;
        const header = document.createElement("div");
        header.className = "picker-group";
        header.textContent = group.title;
        list.appendChild(header);
        for (const code of matches) {
          const option = document.createElement("div");
          option.className = "picker-option";
          option.setAttribute("role", "option");
          option.dataset.code = code.id;
          option.style.borderLeftColor = code.color;
          const label = document.createElement("span");
          label.textContent = code.number ? `${code.number}. ${code.name}` : code.name;
          const id = document.createElement("span");
          id.className = "code-id";
          id.textContent = code.id;
          option.append(label, id);
          if (suggested.includes(code.id)) option.classList.add("suggested");
          option.addEventListener("mousedown", (event) => {
            event.preventDefault();
            finish(code.id);
          });
          list.appendChild(option);
          options.push(option);
        }
      }
      active = Math.min(active, Math.max(options.length - 1, 0));
      highlight();
    };
    const highlight = () => {
      options.forEach((o, i) => o.classList.toggle("active", i === active));
      if (options[active]) options[active].scrollIntoView({ block: "nearest" });
    };
    input.addEventListener("input", () => {
      active = 0;
      render();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") active = Math.min(active + 1, options.length - 1);
      else if (event.key === "ArrowUp") active = Math.max(active - 1, 0);
      else if (event.key === "Enter") {
        if (options[active]) finish(options[active].dataset.code);
      } else if (event.key === "Escape") finish(null);
      else return;
      event.preventDefault();
      event.stopPropagation();
      highlight();
    });
    render();
  });
}

export const STANCE_LABELS = {
  knelpunt: "knelpunt", oplossing: "oplossing", succesfactor: "succesfactor", neutraal: "neutraal",
};

export function pickStance(current) {
  const stances = Object.keys(STANCE_LABELS);
  return open((box, finish) => {
    const heading = document.createElement("h2");
    heading.textContent = "Stance: press 1-4";
    box.appendChild(heading);
    stances.forEach((stance, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "stance-option" + (stance === current ? " current" : "");
      button.textContent = `${i + 1}  ${STANCE_LABELS[stance]}`;
      button.addEventListener("click", () => finish(stance));
      box.appendChild(button);
    });
    box.addEventListener("keydown", (event) => {
      const n = Number(event.key);
      if (n >= 1 && n <= stances.length) finish(stances[n - 1]);
      else if (event.key === "Escape") finish(null);
      else return;
      event.preventDefault();
      event.stopPropagation();
    });
  });
}

export function editMemo(quotationText) {
  return open((box, finish) => {
    const heading = document.createElement("h2");
    heading.textContent = "Memo on this quotation";
    const quote = document.createElement("blockquote");
    quote.textContent = quotationText.length > 240 ? quotationText.slice(0, 240) + "…" : quotationText;
    const area = document.createElement("textarea");
    area.id = "memo-text";
    area.rows = 5;
    area.maxLength = 10000;
    area.placeholder = "Ctrl+Enter saves, Esc cancels";
    box.append(heading, quote, area);
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) finish(area.value.trim() || null);
      else if (event.key === "Escape") finish(null);
      else return;
      event.preventDefault();
      event.stopPropagation();
    });
  });
}

export const SHORTCUTS = [
  ["Move", [["j  /  ↓", "next quotation"], ["k  /  ↑", "previous quotation"], ["Home / End", "first / last quotation"],
    ["q", "queue: document order ⇄ lowest confidence first (all transcripts)"], ["g", "code manager"],
    ["o", "project overview"], ["f", "filter by this quotation's code (again: clear the filter)"]]],
  ["Decide", [["Enter  /  a", "confirm"], ["r  /  x", "reject"], ["c", "change code (code picker)"],
    ["+  /  t", "add a second code"], ["-", "remove the last code"], ["s", "change stance"],
    ["m", "write a memo"], ["u  /  Ctrl+Z", "undo your last decision"]]],
  ["Span", [["e", "adjust the span"], ["→ / ←", "end one word further / back"],
    ["Shift + → / ←", "start one word further / back"], ["Ctrl + arrow", "by sentence instead of by word"],
    ["Enter / Esc", "save / cancel"], ["drag", "the handles at start and end (Alt: by sentence)"]]],
  ["New quotation", [["n", "from the selected text, or the sentence after this quotation"],
    ["↑ / ↓", "(no selection) previous / next sentence"], ["Enter", "choose a code and save"]]],
  ["Other", [["v", "view: my review ⇄ all reviewers"], ["w", "what changed since the earlier run (after a re-run)"],
    ["[ / ]", "previous / next change (while that panel is open)"], ["a", "code manager: next agreement comparison"],
    ["?", "this help"], ["Esc", "close"]]],
];

export function showHelp() {
  return open((box, finish) => {
    box.classList.add("help");
    const heading = document.createElement("h2");
    heading.textContent = "Keyboard shortcuts";
    box.appendChild(heading);
    const grid = document.createElement("div");
    grid.className = "help-grid";
    for (const [section, rows] of SHORTCUTS) {
      const part = document.createElement("section");
      const title = document.createElement("h3");
      title.textContent = section;
      part.appendChild(title);
      const table = document.createElement("table");
      for (const [keys, what] of rows) {
        const tr = table.insertRow();
        const k = tr.insertCell();
        const kbd = document.createElement("kbd");
        kbd.textContent = keys;
        k.appendChild(kbd);
        tr.insertCell().textContent = what;
      }
      part.appendChild(table);
      grid.appendChild(part);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close (Esc)";
    close.addEventListener("click", () => finish(null));
    box.append(grid, close);
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape" || event.key === "?") {
        event.preventDefault();
        finish(null);
      }
    });
  });
}
