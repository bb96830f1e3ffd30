"""Build tests/fixtures/okta_response_schemas.json: the response schemas of every operation the sandbox
org models, from Okta's Management API OpenAPI spec, with every schema they refer to.

Usage: python scripts/build_sandbox_contract.py PATH/TO/management-minimal.yaml [PATH/TO/scopes.tsv]

The contract test (tests/test_sandbox_contract.py) validates the sandbox's answers against this file with
``jsonschema``, so it runs on a clean clone without the spec. OpenAPI 3.0 is turned into JSON Schema
(2020-12) on the way: ``nullable`` becomes a ``null`` type, a ``discriminator`` with a mapping picks the
subtype schema by the property's value (the subtype extends the base without its dispatch), and ``oneOf``
is read as ``anyOf`` (Okta's alternatives overlap:
a custom role assignment is also a valid standard one). Descriptions and examples are dropped.

The sandbox's answer to the operations it does not model names each one's operationId and scope from the
scope catalogue packaged with okta_magic (``okta_magic/data/operations.json``, built from the same spec by
``scripts/build_scope_catalogue.py``). Given Okta's scopes.tsv (the same spec's operations and scopes, one
row each), this script also checks that the catalogue agrees with it, and stops if not.
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib
import re
import sys
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from okta_magic.sandbox.api.users import LIFECYCLE_ALLOWED  # noqa: E402
from okta_magic.sandbox.app import API_ROUTES  # noqa: E402
from okta_magic.scopes import catalogue  # noqa: E402

DROP = {"description", "example", "examples", "externalDocs", "title", "x-okta-lifecycle", "readOnly", "writeOnly",
        "x-okta-tags", "x-enumDescriptions", "deprecated", "x-okta-ignore-redocly-rules-for-sdk", "xml"}


# JSON Schema keywords that Okta's schemas also use as property names (the user schema describes a schema)
KEYWORDS = {"$ref", "allOf", "anyOf", "oneOf", "not", "enum", "items", "properties", "if", "then", "else"}


def modelled_operations() -> list[tuple[str, str]]:
    """(method, spec path) of every operation the sandbox serves, from its route table and the catalogue."""
    ops = []
    for template, handlers in API_ROUTES:
        concrete = "/api/v1" + re.sub(r"\{\w+\}", "x0x", template)
        for method in handlers:
            if "{op}" in template:  # /users/{id}/lifecycle/{op}: each operation the handler knows
                ops += [(method, catalogue().resolve(method, concrete.replace("x0x", name)).path)  # type: ignore
                        for name in LIFECYCLE_ALLOWED if concrete.endswith("/x0x")]
                continue
            op = catalogue().resolve(method, concrete)
            if op is None:
                raise SystemExit(f"{method} {template}: no operation in the catalogue")
            ops.append((method, op.path))
    return ops


def convert(node: Any, dispatching: frozenset[str] = frozenset()) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12 (nullable, oneOf; doc keys and discriminators dropped).

    ``dispatching``: the schemas with a discriminator mapping; a subtype that extends one (``allOf`` with its
    ``$ref``) extends its ``__base`` form instead, which does not dispatch back to the subtype.
    """
    if isinstance(node, list):
        return [convert(n, dispatching) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: convert(v, dispatching) for k, v in node.items()
           if k not in DROP and k not in ("nullable", "discriminator")}
    if "allOf" in out:
        out["allOf"] = [{"$ref": part["$ref"] + "__base"} if set(part) == {"$ref"}
                        and part["$ref"].rsplit("/", 1)[1] in dispatching else part for part in out["allOf"]]
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out or "allOf" in out or "oneOf" in out or "anyOf" in out:
            out = {"anyOf": [{"type": "null"}, out]}
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    clashing = [k for k in out.get("properties") or {} if k in KEYWORDS]
    for name in clashing:  # a property named like a keyword ("allOf", "$ref") trips schema resolvers
        out.setdefault("patternProperties", {})[f"^{re.escape(name)}$"] = out["properties"].pop(name)
    return out


def dispatch(name: str, node: dict[str, Any]) -> dict[str, Any]:
    """A discriminated schema: its ``__base`` form, then the subtype the discriminator's value names."""
    prop = node["discriminator"]["propertyName"]
    choices = [{"if": {"properties": {prop: {"const": value}}, "required": [prop]}, "then": {"$ref": ref}}
               for value, ref in node["discriminator"]["mapping"].items()]
    return {"allOf": [{"$ref": f"#/components/schemas/{name}__base"}, *choices]}


def refs(node: Any, into: set[str]) -> None:
    """Every ``#/components/schemas/...`` name under a node."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            into.add(ref.rsplit("/", 1)[1])
        for mapped in ((node.get("discriminator") or {}).get("mapping") or {}).values():
            into.add(mapped.rsplit("/", 1)[1])
        for v in node.values():
            refs(v, into)
    elif isinstance(node, list):
        for v in node:
            refs(v, into)


def response_schema(spec: dict[str, Any], method: str, path: str) -> Any:
    """The JSON body schema of an operation's first 2xx answer, or None (204 and the like)."""
    op = spec["paths"][path][method.lower()]
    for code, answer in sorted(op["responses"].items()):
        if not code.startswith("2"):
            continue
        if "$ref" in answer:
            answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
        content = (answer.get("content") or {}).get("application/json")
        return content.get("schema") if content else None
    return None


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """The fixture: each modelled operation's response schema and the schemas they need."""
    all_schemas = spec["components"]["schemas"]
    dispatching = frozenset(n for n, x in all_schemas.items() if (x.get("discriminator") or {}).get("mapping"))
    operations: dict[str, Any] = {}
    wanted: set[str] = set()
    for method, path in modelled_operations():
        schema = response_schema(spec, method, path)
        operations[f"{method} {path}"] = None if schema is None else convert(schema, dispatching)
        refs(schema, wanted)
    schemas: dict[str, Any] = {}
    pending = sorted(wanted)
    while pending:
        name = pending.pop()
        if name in schemas:
            continue
        raw = all_schemas[name]
        if name in dispatching:
            schemas[name] = dispatch(name, raw)
            schemas[name + "__base"] = convert(raw, dispatching)
        else:
            schemas[name] = convert(raw, dispatching)
        found: set[str] = set()
        refs(raw, found)
        pending += sorted(found - set(schemas))
    source = {"title": spec["info"]["title"], "version": spec["info"]["version"],
              "repository": "https://github.com/okta/okta-management-openapi-spec",
              "file": "dist/current/management-minimal.yaml",
              "built_by": "scripts/build_sandbox_contract.py"}
    return {"source": source, "operations": operations, "components": {"schemas": dict(sorted(schemas.items()))}}


def check_scopes(tsv: pathlib.Path) -> None:
    """Stop when the packaged catalogue and Okta's scopes.tsv disagree on an operation's id or scopes."""
    ops = {(o.method, o.path): o for o in catalogue().operations}
    with tsv.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            op = ops.get((row["method"], row["path"]))
            scopes = tuple(s for s in row["scopes"].split(",") if s)
            if op is None or op.operation_id != row["operationId"] or op.scopes != scopes:
                raise SystemExit(f"{row['method']} {row['path']}: the catalogue says {op}, scopes.tsv {row}; "
                                 "rebuild okta_magic/data/operations.json with scripts/build_scope_catalogue.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=pathlib.Path)
    parser.add_argument("scopes", type=pathlib.Path, nargs="?")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "tests" / "fixtures" / "okta_response_schemas.json")
    args = parser.parse_args()
    if args.scopes is not None:
        check_scopes(args.scopes)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(args.spec.read_text(encoding="utf-8"), Loader=loader)
    fixture = build(spec)
    args.out.write_text(json.dumps(fixture, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(fixture['operations'])} operations, {len(fixture['components']['schemas'])} schemas, "
          f"spec {fixture['source']['version']}")


if __name__ == "__main__":
    main()
