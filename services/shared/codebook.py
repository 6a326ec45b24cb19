"""Codebooks as versioned YAML data: load, validate and look up knelpunt, oplossing and variabele codes.

The format is documented in codebooks/README.md. Nothing here knows the LZW codes: a project may
bring its own codebook file, and only that file decides which codes exist.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import yaml

from services.shared.errors import CodebookError, UnknownCodeError
from services.shared.yaml_lines import item_line, line_of, load_yaml_with_lines

if TYPE_CHECKING:
    from services.shared.config import Settings

STANCES = ("knelpunt", "oplossing", "succesfactor", "neutraal")
KINDS = ("knelpunt", "oplossing", "variabele")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")  # ids end up in URLs and String(80) columns
_COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
_TOP_FIELDS = {"key", "version", "name", "language", "source", "categories", "codes"}
_CATEGORY_FIELDS = {"id", "name", "description", "color"}
_CODE_FIELDS = {"id", "kind", "name", "description", "category", "number", "addresses", "color",
                "marker", "group", "indicators"}
_INDICATOR_FIELDS = {"name", "knelpunt", "succesfactor"}


@dataclass(frozen=True)
class Category:
    """A group of knelpunten (A-E in the LZW codebook); `color` is the default for its codes."""

    id: str
    name: str
    description: str
    color: str | None = None


@dataclass(frozen=True)
class Indicator:
    """One indicator of a literature variable, with the values that make it a knelpunt or a succesfactor."""

    name: str
    knelpunt: str
    succesfactor: str


@dataclass(frozen=True)
class Code:
    """One code of a codebook: a knelpunt, an oplossing or a literature variabele."""

    id: str
    kind: str
    name: str
    description: str
    category: str | None
    number: int | None
    addresses: tuple[str, ...]
    color: str
    marker: str | None = None  # "[1]"/"[2]" of thesis §5.3: not literally named by respondents
    group: str | None = None  # e.g. "K1 Netwerkstructuur" for a literature variable
    indicators: tuple[Indicator, ...] = ()


@dataclass(frozen=True)
class Codebook:
    """A validated, immutable codebook; `sha256` identifies its content."""

    key: str
    version: str
    name: str
    language: str
    categories: tuple[Category, ...]
    codes: tuple[Code, ...]
    sha256: str
    source: str = ""

    @cached_property
    def _by_id(self) -> dict[str, Code]:
        return {c.id: c for c in self.codes}

    def code(self, code_id: str) -> Code:
        """Return the code with this id; raises UnknownCodeError."""
        try:
            return self._by_id[code_id]
        except KeyError:
            raise UnknownCodeError(
                f"Code {code_id!r} is not in codebook {self.key} {self.version}; use one of its "
                f"{len(self.codes)} code ids.", code_id=code_id, codebook=self.key, version=self.version,
            ) from None

    def knelpunten(self) -> list[Code]:
        """Return the knelpunt codes ordered by number."""
        return sorted((c for c in self.codes if c.kind == "knelpunt"), key=lambda c: c.number or 0)

    def solutions(self) -> list[Code]:
        """Return the oplossing codes in file order."""
        return [c for c in self.codes if c.kind == "oplossing"]

    def variables(self) -> list[Code]:
        """Return the literature variabele codes in file order."""
        return [c for c in self.codes if c.kind == "variabele"]

    def knelpunt_by_number(self, number: int) -> Code:
        """Return the knelpunt with this number; raises UnknownCodeError."""
        for code in self.codes:
            if code.kind == "knelpunt" and code.number == number:
                return code
        numbers = ", ".join(str(c.number) for c in self.knelpunten()) or "none"
        raise UnknownCodeError(f"Codebook {self.key} {self.version} has no knelpunt number {number}; "
                               f"its knelpunten are numbered {numbers}.", number=number, codebook=self.key)

    def to_dict(self) -> dict:
        """Return the content as plain data (no sha256); codebook_from_dict(cb.to_dict()) == cb."""
        return _content(self.key, self.version, self.name, self.language, self.source,
                        self.categories, self.codes)


def _content(key: str, version: str, name: str, language: str, source: str,
             categories: tuple[Category, ...], codes: tuple[Code, ...]) -> dict:
    """The normalised content that to_dict returns and sha256 is computed over."""
    def category(cat: Category) -> dict:
        item = {"id": cat.id, "name": cat.name, "description": cat.description}
        return item if cat.color is None else {**item, "color": cat.color}

    def code(c: Code) -> dict:
        item: dict[str, Any] = {"id": c.id, "kind": c.kind, "name": c.name, "description": c.description,
                                "color": c.color}
        optional = {"category": c.category, "number": c.number, "marker": c.marker, "group": c.group}
        item.update({k: v for k, v in optional.items() if v is not None})
        if c.kind == "oplossing":
            item["addresses"] = list(c.addresses)
        if c.indicators:
            item["indicators"] = [{"name": i.name, "knelpunt": i.knelpunt, "succesfactor": i.succesfactor}
                                  for i in c.indicators]
        return item

    return {"key": key, "version": version, "name": name, "language": language, "source": source,
            "categories": [category(c) for c in categories], "codes": [code(c) for c in codes]}


def _sha256(content: dict) -> str:
    """Hash a canonical JSON form: sorted keys, so the key order of the file does not matter."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_codebook(path: str | Path) -> Codebook:
    """Load and validate a codebook YAML file; raises CodebookError("file:line: ...")."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CodebookError(f"{source}: cannot read the codebook file ({exc.strerror}); check the path "
                            "(setting codebook_path, QCODER_CODEBOOK_PATH).", file=source) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CodebookError(f"{source}:{line}: the file is not valid UTF-8; save it as UTF-8.",
                            file=source, line=line) from exc
    try:
        data = load_yaml_with_lines(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        hint = ("codebooks are plain YAML without '!' tags" if "tag" in (exc.problem or "") else
                "fix the YAML syntax at that line (indentation, quotes, a missing ':')")
        if isinstance(exc, yaml.constructor.ConstructorError) and "duplicate key" in (exc.problem or ""):
            context, hint = "", "each field may appear once per mapping"
        raise CodebookError(f"{source}:{line}: invalid YAML: {exc.problem or exc.context}{context}; {hint}.",
                            file=source, line=line) from exc
    except yaml.YAMLError as exc:
        raise CodebookError(f"{source}: invalid YAML: {exc}.", file=source) from exc
    return codebook_from_dict(data, source=source)


def load_default_codebook(settings: Settings) -> Codebook:
    """Load the codebook named by settings.codebook_path."""
    return load_codebook(settings.codebook_path)


def codebook_from_dict(data: dict, source: str = "<dict>") -> Codebook:
    """Validate plain data (a loaded YAML file or Codebook.to_dict()) into a Codebook; raises CodebookError."""
    return _Validator(source).build(data)


# --- Validation -------------------------------------------------------------------------------

def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    for types, name in ((dict, "a mapping"), (list, "a list"), (str, "text"), ((int, float), "a number")):
        if isinstance(value, types):
            return name
    return type(value).__name__


class _Validator:
    """Turns loaded YAML (or a plain dict) into a Codebook, failing on the first problem found."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, line: int | None, message: str) -> NoReturn:
        where = f"{self.source}:{line}" if line else self.source
        raise CodebookError(f"{where}: {message}", file=self.source, line=line)

    def mapping(self, obj: Any, what: str, line: int | None, allowed: set[str]) -> dict:
        if not isinstance(obj, dict):
            self.fail(line, f"{what} must be a mapping of 'field: value' lines, got {_type_name(obj)}.")
        for key in obj:
            if key not in allowed:
                self.fail(line_of(obj, key), f"{what}: unknown field {key!r}; allowed fields are "
                          f"{', '.join(sorted(allowed))} (check the spelling).")
        return obj

    def text(self, obj: dict, key: str, what: str, *, required: bool = True, empty_ok: bool = False) -> str | None:
        if key not in obj:
            if required:
                self.fail(line_of(obj), f"{what}: required field '{key}' is missing; add '{key}: ...'.")
            return None
        value = obj[key]
        if key == "color" and value is None:
            self.fail(line_of(obj, key), f"{what}: 'color' is empty. In YAML an unquoted # starts a comment; "
                      "write it quoted, e.g. color: \"#1F77B4\".")
        value = "" if value is None else value  # 'name:' with nothing after it is reported as empty
        if not isinstance(value, str):
            self.fail(line_of(obj, key), f"{what}: '{key}' must be text, got {_type_name(value)}; "
                      f"put the value in quotes, e.g. {key}: \"{value}\".")
        if not empty_ok and not value.strip():
            self.fail(line_of(obj, key), f"{what}: '{key}' is empty; write a non-empty {key}.")
        return value.strip()

    def identifier(self, obj: dict, key: str, what: str) -> str:
        value = self.text(obj, key, what)
        if not _ID_RE.match(value):
            self.fail(line_of(obj, key), f"{what}: {key} {value!r} is not valid; use letters, digits, '-', "
                      "'_' or '.', starting with a letter or digit, at most 80 characters.")
        return value

    def color(self, obj: dict, what: str) -> str | None:
        value = self.text(obj, "color", what, required=False)
        if value is not None and not _COLOR_RE.match(value):
            self.fail(line_of(obj, "color"), f"{what}: color {value!r} is not a colour; write \"#RRGGBB\" "
                      "with six hex digits, e.g. \"#1F77B4\".")
        return value.upper() if value else None

    def sequence(self, obj: dict, key: str, what: str) -> list:
        value = obj[key]
        if not isinstance(value, list):
            self.fail(line_of(obj, key), f"{what}: '{key}' must be a list (lines starting with '- ' "
                      f"or [a, b]), got {_type_name(value)}.")
        return value

    def build(self, data: Any) -> Codebook:
        if data is None:
            self.fail(1, "the codebook is empty; it needs key, version, name, language, categories and codes.")
        top = self.mapping(data, "codebook", 1, _TOP_FIELDS)
        key = self.identifier(top, "key", "codebook")
        version = self.text(top, "version", "codebook")
        name = self.text(top, "name", "codebook")
        language = self.text(top, "language", "codebook")
        source = self.text(top, "source", "codebook", required=False, empty_ok=True) or ""
        categories = self.categories(top) if "categories" in top else ()  # no knelpunten, no categories
        codes = self.codes(top, {c.id: c for c in categories})
        content = _content(key, version, name, language, source, categories, codes)
        return Codebook(key=key, version=version, name=name, language=language, categories=categories,
                        codes=codes, sha256=_sha256(content), source=source)

    def categories(self, top: dict) -> tuple[Category, ...]:
        items = self.sequence(top, "categories", "codebook")
        result: dict[str, tuple[Category, int | None]] = {}
        for index, item in enumerate(items):
            self.mapping(item, f"categories[{index}]", item_line(items, index), _CATEGORY_FIELDS)
            cat_id = self.identifier(item, "id", f"categories[{index}]")
            what = f"category {cat_id!r}"
            if cat_id in result:
                self.fail(line_of(item, "id"), f"{what}: duplicate category id (first at line "
                          f"{result[cat_id][1]}); give each category its own id.")
            name = self.text(item, "name", what)
            description = self.text(item, "description", what, required=False, empty_ok=True) or ""
            result[cat_id] = Category(cat_id, name, description, self.color(item, what)), line_of(item, "id")
        return tuple(cat for cat, _ in result.values())

    def codes(self, top: dict, categories: dict[str, Category]) -> tuple[Code, ...]:
        if "codes" not in top:
            self.fail(line_of(top), "codebook: required field 'codes' is missing; add 'codes:' with a list.")
        items = self.sequence(top, "codes", "codebook")
        if not items:
            self.fail(line_of(top, "codes"), "codebook: 'codes' is empty; list at least one code.")
        codes: dict[str, tuple[Code, int | None]] = {}
        numbers: dict[int, tuple[str, int | None]] = {}
        links: list[tuple[str, str, int | None]] = []
        for index, item in enumerate(items):
            self.mapping(item, f"codes[{index}]", item_line(items, index), _CODE_FIELDS)
            code_id = self.identifier(item, "id", f"codes[{index}]")
            what = f"code {code_id!r}"
            if code_id in codes:
                self.fail(line_of(item, "id"), f"{what}: duplicate code id (first at line {codes[code_id][1]}); "
                          "give each code its own id.")
            kind = self.text(item, "kind", what)
            if kind not in KINDS:
                self.fail(line_of(item, "kind"), f"{what}: unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
            category = self.text(item, "category", what, required=kind == "knelpunt")
            if category is not None and category not in categories:
                self.fail(line_of(item, "category"), f"{what}: unknown category {category!r}; use one of "
                          f"{', '.join(categories) or '(none defined)'} or add it under 'categories'.")
            color = self.color(item, what) or (categories[category].color if category else None)
            code = Code(
                id=code_id, kind=kind, name=self.text(item, "name", what),
                description=self.text(item, "description", what), category=category,
                number=self.number(item, what, kind, numbers), addresses=self.addresses(item, what, kind, links),
                color=color or "", marker=self.text(item, "marker", what, required=False),
                group=self.text(item, "group", what, required=False), indicators=self.indicators(item, what),
            )
            if color is None:
                self.fail(line_of(item), f"{what}: no colour; add color: \"#RRGGBB\""
                          + (f" or give category {category!r} a color." if category else "."))
            codes[code_id] = code, line_of(item, "id")
        for code_id, target, line in links:
            if target not in codes:
                self.fail(line, f"code {code_id!r}: 'addresses' names {target!r}, which is not a code in this "
                          "codebook; use the id of an existing knelpunt.")
            if codes[target][0].kind != "knelpunt":
                self.fail(line, f"code {code_id!r}: 'addresses' names {target!r}, which is a "
                          f"{codes[target][0].kind}, not a knelpunt; list only knelpunt ids.")
        return tuple(code for code, _ in codes.values())

    def number(self, item: dict, what: str, kind: str, seen: dict[int, tuple[str, int | None]]) -> int | None:
        if kind != "knelpunt":
            if "number" in item:
                self.fail(line_of(item, "number"), f"{what}: only knelpunten have a number; remove 'number'.")
            return None
        if "number" not in item:
            self.fail(line_of(item), f"{what}: required field 'number' is missing; add 'number: N' (1, 2, ...).")
        value = item["number"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(line_of(item, "number"), f"{what}: number {value!r} must be a positive whole number "
                      "(1, 2, ...), without quotes.")
        if value in seen:
            self.fail(line_of(item, "number"), f"{what}: knelpunt number {value} is already used by "
                      f"{seen[value][0]!r} (line {seen[value][1]}); give each knelpunt its own number.")
        seen[value] = (item["id"], line_of(item, "number"))
        return value

    def addresses(self, item: dict, what: str, kind: str, links: list) -> tuple[str, ...]:
        if kind != "oplossing":
            if "addresses" in item:
                self.fail(line_of(item, "addresses"), f"{what}: only oplossing codes address knelpunten; "
                          "remove 'addresses'.")
            return ()
        if "addresses" not in item:
            self.fail(line_of(item), f"{what}: required field 'addresses' is missing; add 'addresses: [...]' "
                      "with the ids of the knelpunten this solution addresses ([] for none).")
        targets = self.sequence(item, "addresses", what)
        for index, target in enumerate(targets):
            line = item_line(targets, index, line_of(item, "addresses"))
            if not isinstance(target, str):
                self.fail(line, f"{what}: 'addresses' item {target!r} must be a code id (text).")
            if target in targets[:index]:
                self.fail(line, f"{what}: 'addresses' lists {target!r} twice; list it once.")
            links.append((item["id"], target, line))  # checked once every code id is known
        return tuple(targets)

    def indicators(self, item: dict, what: str) -> tuple[Indicator, ...]:
        if "indicators" not in item:
            return ()
        items = self.sequence(item, "indicators", what)
        result = []
        for index, ind in enumerate(items):
            label = f"{what} indicators[{index}]"
            self.mapping(ind, label, item_line(items, index, line_of(item, "indicators")), _INDICATOR_FIELDS)
            result.append(Indicator(self.text(ind, "name", label), self.text(ind, "knelpunt", label),
                                    self.text(ind, "succesfactor", label)))
        return tuple(result)
