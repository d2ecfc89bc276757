"""Check HTTP requests against GitHub's OpenAPI description (npm ``@octokit/openapi``).

The fake GitHub server runs every request it receives through ``OpenApiChecker.check``; a
request that the description does not allow (unknown path or method, a query parameter the
operation does not declare, a path or query value of the wrong type, a body that does not
match the request schema) is a violation, and a test with a violation fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

SPEC_VERSION = "23.0.2"
SPEC_PATH = (
    Path(__file__).resolve().parents[3]
    / ".cache"
    / "octokit-openapi"
    / SPEC_VERSION
    / "api.github.com.json"
)


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]  # parameter names, in the order of the pattern's groups
    literal_chars: int  # more literal text = more specific (".../issues/comments" wins)


def _route(template: str) -> Route:
    regex, names = "", []
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{"):
            names.append(piece[1:-1])
            # `path` (repository contents) spans slashes; every other parameter is one segment.
            regex += "(.+)" if piece == "{path}" else "([^/]+)"
        else:
            regex += re.escape(piece)
    literal = len(re.sub(r"\{[^}]+\}", "", template))
    return Route(template, re.compile(f"^{regex}$"), tuple(names), literal)


class OpenApiChecker:
    def __init__(self, spec_path: Path = SPEC_PATH) -> None:
        if not spec_path.exists():
            raise FileNotFoundError(
                f"{spec_path} is missing: run `bash scripts/setup/github.sh` (or `make setup`)"
            )
        self.spec: dict[str, Any] = json.loads(spec_path.read_bytes())
        routes = [_route(t) for t in self.spec["paths"]]
        self.routes = sorted(routes, key=lambda r: -r.literal_chars)

    @cached_property
    def components(self) -> dict[str, Any]:
        return self.spec["components"]

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self._pointer(node["$ref"])
        return node

    def _pointer(self, ref: str) -> dict[str, Any]:
        node: Any = self.spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _valid(self, schema: dict[str, Any], value: Any) -> list[str]:
        root = {"allOf": [schema], "components": self.components}
        validator = OAS30Validator(root)
        return [e.message[:200] for e in validator.iter_errors(value)]

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                return route, dict(zip(route.names, found.groups(), strict=True))
        return None

    def check(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes | None
    ) -> list[str]:
        """Violations of the description by this request (empty when it is allowed)."""
        where = f"{method} {path}"
        matched = self.match(path)
        if matched is None:
            return [f"{where}: no such path in GitHub's REST API"]
        route, path_values = matched
        item = self.spec["paths"][route.template]
        operation = item.get(method.lower())
        if operation is None:
            return [f"{where}: {method} is not allowed on {route.template}"]
        params = [
            self._resolve(p) for p in item.get("parameters", []) + operation.get("parameters", [])
        ]
        problems = self._check_params(params, path_values, query)
        problems += self._check_body(operation, body)
        return [f"{where} ({operation['operationId']}): {p}" for p in problems]

    def _check_params(
        self, params: list[dict[str, Any]], path_values: dict[str, str], query: dict[str, list[str]]
    ) -> list[str]:
        problems: list[str] = []
        declared = {p["name"]: p for p in params if p["in"] == "query"}
        for name in query:
            if name not in declared:
                problems.append(f"query parameter {name!r} is not declared")
        for param in params:
            if param["in"] == "path":
                problems += self._check_value(param, path_values.get(param["name"]))
            elif param["in"] == "query" and param["name"] in query:
                for value in query[param["name"]]:
                    problems += self._check_value(param, value)
            elif param["in"] == "query" and param.get("required"):
                problems.append(f"required query parameter {param['name']!r} is missing")
        return problems

    def _check_value(self, param: dict[str, Any], raw: str | None) -> list[str]:
        if raw is None:
            return [f"path parameter {param['name']!r} is missing"]
        schema = self._resolve(param.get("schema", {}))
        value: Any = raw
        if schema.get("type") == "integer":
            if not re.fullmatch(r"-?\d+", raw):
                return [f"parameter {param['name']!r}={raw!r} is not an integer"]
            value = int(raw)
        elif schema.get("type") == "boolean":
            if raw not in ("true", "false"):
                return [f"parameter {param['name']!r}={raw!r} is not a boolean"]
            value = raw == "true"
        return [f"parameter {param['name']!r}: {m}" for m in self._valid(schema, value)]

    def _check_body(self, operation: dict[str, Any], body: bytes | None) -> list[str]:
        request_body = operation.get("requestBody")
        if request_body is None:
            return ["this operation takes no request body"] if body else []
        request_body = self._resolve(request_body)
        if not body:
            return ["the request body is required"] if request_body.get("required") else []
        content = request_body.get("content", {})
        if "application/json" not in content:
            return [f"the body must be one of {sorted(content)}"]
        try:
            value = json.loads(body)
        except ValueError:
            return ["the body is not JSON"]
        schema = content["application/json"].get("schema", {})
        return [f"body: {m}" for m in self._valid(schema, value)] + self._unknown_keys(
            schema, value
        )

    def _unknown_keys(self, schema: dict[str, Any], value: Any) -> list[str]:
        # GitHub ignores keys it does not know, so a misspelt one would silently do nothing:
        # stricter than the description on purpose, for top-level object bodies.
        schema = self._resolve(schema)
        if not isinstance(value, dict) or "properties" not in schema:
            return []
        if schema.get("additionalProperties") not in (None, False):
            return []
        return [f"body: unknown key {key!r}" for key in value if key not in schema["properties"]]


_MINIMIZE_RE = re.compile(
    r"^mutation\s*\(\s*\$(?P<var>\w+)\s*:\s*ID!\s*\)\s*\{\s*minimizeComment\s*\(\s*input\s*:\s*\{\s*"
    r"subjectId\s*:\s*\$(?P=var)\s*,\s*classifier\s*:\s*(?P<classifier>[A-Z_]+)\s*\}\s*\)\s*"
    r"\{\s*minimizedComment\s*\{\s*isMinimized\s*\}\s*\}\s*\}$"
)
CLASSIFIERS = {"ABUSE", "DUPLICATE", "OFF_TOPIC", "OUTDATED", "RESOLVED", "SPAM"}


def check_minimize_comment(body: bytes) -> tuple[list[str], str | None]:
    """GraphQL is not in the REST description: check the one mutation MaestrOps sends.

    Returns the violations and the node id of the comment to minimize.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        return ["graphql: the body is not JSON"], None
    match = _MINIMIZE_RE.match(" ".join(str(payload.get("query", "")).split()))
    if match is None:
        return [f"graphql: unexpected query {payload.get('query')!r}"], None
    problems = []
    if match["classifier"] not in CLASSIFIERS:
        problems.append(f"graphql: unknown classifier {match['classifier']}")
    node_id = (payload.get("variables") or {}).get(match["var"])
    if not isinstance(node_id, str) or not node_id:
        problems.append(f"graphql: variable ${match['var']} must be a node id")
    if set(payload) - {"query", "variables", "operationName"}:
        problems.append(f"graphql: unexpected keys {sorted(set(payload))}")
    return problems, node_id if isinstance(node_id, str) else None
