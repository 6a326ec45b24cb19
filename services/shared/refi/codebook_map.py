"""Codebook <-> REFI-QDA codes: categories as parent codes, code groups as Sets, kinds kept in a trailer.

qcoder writes one line "[qcoder] {json}" at the end of a Description so that its own files come
back exactly (code id, kind, number, category, addresses); other tools show it as ordinary text.
Codes from other tools have no trailer: their kind comes from a mapping, from Sets named after a
kind, or defaults to "knelpunt" with sequential numbers (docs/interoperability.md).
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field

from services.shared.codebook import KINDS, Codebook, codebook_from_dict
from services.shared.errors import InputError, QdaExchangeError
from services.shared.refi.guids import category_guid, code_guid, code_set_guid
from services.shared.refi.model import QdaCode, QdaProject

TRAILER_PREFIX = "[qcoder] "
_TRAILER_RE = re.compile(r"(?:\n\n)?\[qcoder\] (\{.*\})\s*$", re.S)
FOLDER_NAMES = {"oplossing": "Oplossingsrichtingen", "variabele": "Literatuurvariabelen"}
KIND_SET_NAMES = {"knelpunt": "Knelpunten", "oplossing": "Oplossingsrichtingen", "variabele": "Literatuurvariabelen"}
# Set names (lower case, any language we meet) that say which kind their member codes are.
_KIND_WORDS = {
    "knelpunt": ("knelpunt", "knelpunten", "bottleneck", "bottlenecks", "problem", "problems"),
    "oplossing": ("oplossing", "oplossingen", "oplossingsrichting", "oplossingsrichtingen", "solution", "solutions"),
    "variabele": ("variabele", "variabelen", "literatuurvariabelen", "variable", "variables"),
}
OTHER_CATEGORY = ("OVERIG", "Overige codes")
# Colours for imported codes that have none (REFI makes colour optional, qcoder requires one).
PALETTE = ("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22",
           "#17BECF")


@dataclass
class CodeNode:
    """A code (or a folder) as it is written to a REFI file."""

    guid: str
    name: str
    codable: bool
    color: str | None
    description: str
    children: list[CodeNode] = field(default_factory=list)


@dataclass
class CodeGroup:
    """A REFI Set of codes."""

    guid: str
    name: str
    description: str
    members: list[str]


def with_trailer(text: str, meta: dict) -> str:
    """Append qcoder's machine-readable line to a description."""
    line = TRAILER_PREFIX + json.dumps(meta, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return f"{text.rstrip()}\n\n{line}" if text.strip() else line


def split_trailer(text: str | None) -> tuple[str, dict | None]:
    """(description without the trailer, the trailer's data or None)."""
    text = text or ""
    match = _TRAILER_RE.search(text)
    if match is None:
        return text.strip(), None
    try:
        meta = json.loads(match.group(1))
    except json.JSONDecodeError:
        return text.strip(), None
    return text[:match.start()].strip(), meta if isinstance(meta, dict) else None


def codebook_tree(codebook: Codebook) -> tuple[list[CodeNode], list[CodeGroup]]:
    """Knelpunten under their category (a non-codable parent); solutions and variables under a folder each."""
    sha = codebook.sha256
    nodes: list[CodeNode] = []
    for category in codebook.categories:
        members = [c for c in codebook.knelpunten() if c.category == category.id]
        members += [c for c in codebook.codes if c.kind != "knelpunt" and c.category == category.id]
        color = category.color or (members[0].color if members else None)
        nodes.append(CodeNode(category_guid(sha, category.id), category.name, False, color,
                              with_trailer(category.description, {"category": category.id}),
                              [_code_node(codebook, c) for c in members]))
    for kind, folder in FOLDER_NAMES.items():
        members = [c for c in codebook.codes if c.kind == kind and c.category is None]
        if members:
            nodes.append(CodeNode(code_set_guid(sha, f"folder:{kind}"), folder, False, members[0].color,
                                  with_trailer("", {"folder": kind}), [_code_node(codebook, c) for c in members]))
    groups = [CodeGroup(code_set_guid(sha, "codebook"), f"Codeboek {codebook.name}",
                        with_trailer(codebook.source, {"codebook": {"key": codebook.key, "version": codebook.version,
                                                                    "name": codebook.name,
                                                                    "language": codebook.language}}),
                        [code_guid(sha, c.id) for c in codebook.codes])]
    for kind, name in KIND_SET_NAMES.items():
        members = [code_guid(sha, c.id) for c in codebook.codes if c.kind == kind]
        if members:
            groups.append(CodeGroup(code_set_guid(sha, f"kind:{kind}"), name, "", members))
    for group in dict.fromkeys(c.group for c in codebook.codes if c.group):
        members = [code_guid(sha, c.id) for c in codebook.codes if c.group == group]
        groups.append(CodeGroup(code_set_guid(sha, f"group:{group}"), group, "", members))
    return nodes, groups


def _code_node(codebook: Codebook, code) -> CodeNode:  # noqa: ANN001 - a codebook Code
    meta = {"id": code.id, "kind": code.kind}
    optional = {"number": code.number, "category": code.category, "marker": code.marker, "group": code.group}
    meta.update({k: v for k, v in optional.items() if v is not None})
    if code.kind == "oplossing":
        meta["addresses"] = list(code.addresses)
    if code.indicators:
        meta["indicators"] = [{"name": i.name, "knelpunt": i.knelpunt, "succesfactor": i.succesfactor}
                              for i in code.indicators]
    return CodeNode(code_guid(codebook.sha256, code.id), code.name, True, code.color,
                    with_trailer(code.description, meta))


def codebook_from_refi(
    project: QdaProject, *, source: str, mapping: dict[str, str] | None = None, default_name: str = "Geïmporteerd"
) -> tuple[Codebook, dict[str, str]]:
    """Build a validated Codebook from REFI codes; returns it and a map code GUID -> code id.

    Deviations (codes without colour, folders, unknown kinds) are appended to project.deviations.
    """
    mapping = {key.casefold(): value for key, value in (mapping or {}).items()}
    for key, kind in mapping.items():
        if kind not in KINDS:
            raise InputError(f"The kind mapping gives {key!r} the kind {kind!r}; use one of {', '.join(KINDS)}.")
    builder = _Builder(project, mapping)
    return builder.build(source, default_name)


class _Builder:
    def __init__(self, project: QdaProject, mapping: dict[str, str]) -> None:
        self.project, self.mapping = project, mapping
        self.by_guid = {code.guid: code for code in project.codes}
        self.categories: dict[str, dict] = {}
        self.codes: list[dict] = []
        self.guid_to_id: dict[str, str] = {}
        self.used_ids: set[str] = set()
        self.kind_sets = self._kind_sets()

    def note(self, message: str) -> None:
        if message not in self.project.deviations:
            self.project.deviations.append(message)

    def _kind_sets(self) -> dict[str, str]:
        kinds: dict[str, str] = {}
        for group in self.project.sets:
            if split_trailer(group.description)[1]:
                continue  # qcoder's own sets: its codes carry their kind themselves
            words = set(re.split(r"[\s:_\-/]+", group.name.casefold()))
            for kind, names in _KIND_WORDS.items():
                if words & set(names):
                    for guid in group.member_codes:
                        kinds.setdefault(guid, kind)
        return kinds

    def build(self, source: str, default_name: str) -> tuple[Codebook, dict[str, str]]:
        header = self._header(default_name)
        trailer_codes = [c for c in self.project.codes if split_trailer(c.description)[1]]
        for code in self.project.codes:
            self._add(code)
        numbers = {c["number"] for c in self.codes if c.get("number")}
        counter = 1
        for item in self.codes:
            if item["kind"] == "knelpunt" and "number" not in item:
                while counter in numbers:
                    counter += 1
                item["number"] = counter
                numbers.add(counter)
                item["id"] = item["id"] or self._unique(f"KP{counter:02d}")
        for item in self.codes:
            item["id"] = item["id"] or self._unique(self._slug_id(item))
            self.guid_to_id[item.pop("guid")] = item["id"]
            item.pop("slug", None)
        if self.codes and len(trailer_codes) < len([c for c in self.project.codes if c.codable]):
            generated = sum(1 for c in self.project.codes if c.codable and not split_trailer(c.description)[1])
            self.note(f"{generated} code(s) came without qcoder metadata: kinds from the mapping or from Sets named "
                      "after a kind, otherwise 'knelpunt' with sequential numbers")
        if not self.codes:
            raise QdaExchangeError("The file has no codable codes, so there is no codebook to import.")
        data = {**header, "categories": list(self.categories.values()), "codes": self.codes}
        return codebook_from_dict(data, source=source), self.guid_to_id

    def _header(self, default_name: str) -> dict:
        for group in self.project.sets:
            _, meta = split_trailer(group.description)
            if meta and isinstance(meta.get("codebook"), dict):
                info = meta["codebook"]
                return {"key": info.get("key", "import"), "version": str(info.get("version", "1")),
                        "name": info.get("name", default_name), "language": info.get("language", "nl"),
                        "source": split_trailer(group.description)[0]}
        name = self.project.name or default_name
        return {"key": _slug(name, upper=False) or "import", "version": "1", "name": name, "language": "nl",
                "source": f"Geïmporteerd uit {self.project.origin or 'een REFI-QDA-bestand'}"}

    def _add(self, code: QdaCode) -> None:
        text, meta = split_trailer(code.description)
        if meta and "category" in meta and not code.codable:
            self.categories[meta["category"]] = _category(meta["category"], code.name, text, code.color)
            return
        if meta and "folder" in meta:
            return
        if not code.codable:
            return  # a folder of another tool: its codes take it as their category (below)
        if meta and meta.get("id") and meta.get("kind") in KINDS:
            color = self._color(code)
            item = {"guid": code.guid, "id": self._unique(meta["id"]), "kind": meta["kind"], "name": code.name,
                    "description": text or code.name, "color": color}
            for key in ("number", "category", "marker", "group", "addresses", "indicators"):
                if key in meta:
                    item[key] = meta[key]
            if item.get("category") and item["category"] not in self.categories:
                self.categories[item["category"]] = _category(item["category"], item["category"], "", None)
            self.codes.append(item)
            return
        name, category_id = self._foreign_category(code)
        kind = self._kind(code)
        item = {"guid": code.guid, "id": None, "kind": kind, "name": name or code.guid,
                "description": text or f"Geïmporteerde code '{self._path(code)}'.", "category": category_id}
        if _color6(code.color) or not self.categories[category_id].get("color"):
            item["color"] = self._color(code)  # otherwise the code takes its category's colour
        if kind == "oplossing":
            item["addresses"] = []
        self.codes.append(item)

    def _foreign_category(self, code: QdaCode) -> tuple[str, str]:
        """(code name, category id): the top-level ancestor, or the part before '::' (ATLAS.ti style)."""
        name = code.name.strip()
        ancestor = code
        while ancestor.parent and ancestor.parent in self.by_guid:
            ancestor = self.by_guid[ancestor.parent]
        if ancestor is not code:
            return name, self._ensure_category(ancestor.name, ancestor.description, ancestor.color)
        if "::" in name:
            head, _, tail = name.partition("::")
            self.note("code names with '::' (ATLAS.ti's hierarchy) were split: the part before '::' became the "
                      "category")
            return tail.strip() or name, self._ensure_category(head.strip(), "", code.color)
        return name, self._ensure_category(OTHER_CATEGORY[1], "", None, OTHER_CATEGORY[0])

    def _ensure_category(self, name: str, description: str, color: str | None, cat_id: str | None = None) -> str:
        cat_id = cat_id or _slug(name)[:60] or "CAT"
        existing = {c["name"]: key for key, c in self.categories.items()}
        if name in existing:
            return existing[name]
        base, suffix = cat_id, 2
        while cat_id in self.categories:
            cat_id, suffix = f"{base}-{suffix}", suffix + 1
        self.categories[cat_id] = _category(cat_id, name, split_trailer(description)[0], _color6(color))
        return cat_id

    def _kind(self, code: QdaCode) -> str:
        path = self._path(code)
        keys = [code.guid, path, code.name, path.replace("::", "/"), code.name.rpartition("::")[2].strip()]
        for key in keys:
            if key.casefold() in self.mapping:
                return self.mapping[key.casefold()]
        return self.kind_sets.get(code.guid, "knelpunt")

    def _path(self, code: QdaCode) -> str:
        parts = [code.name]
        while code.parent and code.parent in self.by_guid:
            code = self.by_guid[code.parent]
            parts.append(code.name)
        return "/".join(reversed(parts))

    def _color(self, code: QdaCode) -> str:
        color = _color6(code.color)
        if color is None:
            self.note("some codes have no colour; they were given one from a fixed palette")
            color = PALETTE[len(self.codes) % len(PALETTE)]
        return color

    def _slug_id(self, item: dict) -> str:
        prefix = {"oplossing": "OPL", "variabele": "VAR"}.get(item["kind"], "KP")
        return f"{prefix}-{_slug(item['name'])[:60] or 'CODE'}"

    def _unique(self, code_id: str) -> str:
        candidate, suffix = code_id, 2
        while candidate in self.used_ids:
            candidate, suffix = f"{code_id}-{suffix}", suffix + 1
        self.used_ids.add(candidate)
        return candidate


def _category(cat_id: str, name: str, description: str, color: str | None) -> dict:
    item = {"id": cat_id, "name": name or cat_id, "description": description}
    color = _color6(color)
    return {**item, "color": color} if color else item


def _color6(color: str | None) -> str | None:
    """'#abc' -> '#AABBCC'; None or anything else that is not a colour -> None."""
    if not color:
        return None
    value = color.strip()
    if re.fullmatch(r"#[0-9A-Fa-f]{3}", value):
        value = "#" + "".join(ch * 2 for ch in value[1:])
    return value.upper() if re.fullmatch(r"#[0-9A-Fa-f]{6}", value) else None


def _slug(name: str, upper: bool = True) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-")
    return slug.upper() if upper else slug.lower()
