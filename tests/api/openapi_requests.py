"""Valid requests for every operation of the API, built from its OpenAPI schema.

Tests that probe every endpoint (access matrix, hostile inputs) use this so that a request is
refused for who sends it, never because its body or query was malformed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Values for fields whose names say what they need (the schema alone cannot).
NAMED_VALUES = {
    "username": "reviewer", "password": "correct horse battery staple", "name": "Project",
    "placeholder": "[PERSOON-1]", "code": "KP03", "code_id": "KP03", "case": "Gemeente P", "role": "reviewer",
    "kind": "persoon", "start": 0, "end": 5, "stance": "knelpunt",
}


@dataclass
class Operation:
    """One method + path of the API with a valid request for it."""

    method: str
    path: str
    summary: str
    path_params: list[str]
    query: dict = field(default_factory=dict)
    json: dict | None = None
    form: dict | None = None
    files: list | None = None

    @property
    def is_admin_action(self) -> bool:
        """Operations whose summary says they are for a project or site admin."""
        return bool(re.search(r"\b(project|site) admin\b", self.summary, re.IGNORECASE))

    def url(self, ids: dict[str, str]) -> str:
        """The path with its parameters filled from `ids` (unknown ones get a harmless value)."""
        path = self.path
        for name in self.path_params:
            path = path.replace("{" + name + "}", str(ids.get(name, NAMED_VALUES.get(name, "x"))))
        return path

    def send(self, client, ids: dict[str, str], headers: dict | None = None):  # noqa: ANN001, ANN201
        """Send the request with a test client."""
        kwargs: dict = {"params": self.query, "headers": headers or {}}
        if self.json is not None:
            kwargs["json"] = self.json
        if self.form is not None:
            kwargs["data"] = self.form
        if self.files is not None:
            kwargs["files"] = self.files
        return client.request(self.method, self.url(ids), **kwargs)


def operations(spec: dict) -> list[Operation]:
    """Every operation in an OpenAPI document, with a valid request."""
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            params = operation.get("parameters", [])
            op = Operation(
                method=method.upper(), path=path, summary=f"{operation.get('summary', '')} {operation.get('description', '')}",
                path_params=[p["name"] for p in params if p["in"] == "path"],
                query={p["name"]: example(p["schema"], spec, p["name"]) for p in params
                       if p["in"] == "query" and p.get("required")},
            )
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                op.json = example(content["application/json"]["schema"], spec)
            elif "multipart/form-data" in content:
                body = resolve(content["multipart/form-data"]["schema"], spec)
                op.form, op.files = {}, []
                for name in body.get("required", []):
                    prop = resolve(body["properties"][name], spec)
                    if _is_file(prop, spec):
                        op.files.append((name, ("interview.txt", b"I: Hoe gaat het?\nR: Goed.\n", "text/plain")))
                    else:
                        op.form[name] = example(prop, spec, name)
            elif "application/x-www-form-urlencoded" in content:
                body = resolve(content["application/x-www-form-urlencoded"]["schema"], spec)
                op.form = {name: example(body["properties"][name], spec, name) for name in body.get("required", [])}
            found.append(op)
    return found


def resolve(schema: dict, spec: dict) -> dict:
    """Follow a $ref."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _is_file(schema: dict, spec: dict) -> bool:
    schema = resolve(schema, spec)
    if schema.get("type") == "array":
        return _is_file(schema.get("items", {}), spec)
    return schema.get("format") == "binary" or schema.get("contentMediaType") == "application/octet-stream"


def example(schema: dict, spec: dict, name: str | None = None):  # noqa: ANN201
    """A small value that satisfies `schema`."""
    schema = resolve(schema, spec)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if resolve(s, spec).get("type") != "null"]
            return example(options[0], spec, name) if options else None
    if "allOf" in schema:
        return example(schema["allOf"][0], spec, name)
    if "enum" in schema:
        return NAMED_VALUES[name] if name in NAMED_VALUES and NAMED_VALUES[name] in schema["enum"] else schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        return {prop: example(sub, spec, prop) for prop, sub in schema.get("properties", {}).items()
                if prop in schema.get("required", [])}
    if kind == "array":
        return [example(schema.get("items", {}), spec, name)] * max(schema.get("minItems", 0), 1 if name else 0)
    if kind == "integer":
        value = NAMED_VALUES.get(name, 0)
        return max(int(value) if isinstance(value, int) else 0, int(schema.get("minimum", 0)))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    value = NAMED_VALUES.get(name, "x")
    value = value if isinstance(value, str) else "x"
    if "pattern" in schema and not re.search(schema["pattern"], value):
        value = _matching(schema["pattern"])
    return value.ljust(schema.get("minLength", 0), "x")


def _matching(pattern: str) -> str:
    """A string matching simple alternation patterns such as ^(me|all|\\d+)$."""
    group = re.search(r"\(([^()]*)\)", pattern)
    if group:
        for option in group.group(1).split("|"):
            if re.fullmatch(r"[\w\-]+", option) and re.search(pattern, option):
                return option
    return "x"
