"""Build okta_magic/data/operations.json from Okta's Management API OpenAPI spec.

Usage: python scripts/build_scope_catalogue.py PATH/TO/management-minimal.yaml

The catalogue holds, for every operation whose ``security`` lists OAuth 2.0
scopes, its method, path template, operationId, tag, summary and the scopes it
requires (all scopes of one OpenAPI security requirement are required
together). It also keeps the description of every scope the spec declares.
Operations reachable only with an SSWS API token or without credentials are
listed with an empty scope list so that paths still resolve.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import yaml

METHODS = ("get", "put", "post", "delete", "patch")


def build(spec: dict) -> dict:
    """Return the catalogue document for one parsed spec."""
    operations = []
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            scopes: list[str] = []
            for requirement in op.get("security", spec.get("security", [])):
                if requirement.get("oauth2"):
                    scopes = list(requirement["oauth2"])
                    break
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "operationId": op.get("operationId", ""),
                    "tag": (op.get("tags") or [""])[0],
                    "summary": op.get("summary", ""),
                    "scopes": scopes,
                }
            )
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]
    scope_descriptions = next(iter(flows.values()))["scopes"]
    return {
        "source": {
            "title": spec["info"]["title"],
            "version": spec["info"]["version"],
            "repository": "https://github.com/okta/okta-management-openapi-spec",
            "file": "dist/current/management-minimal.yaml",
        },
        "scopes": dict(sorted(scope_descriptions.items())),
        "operations": sorted(operations, key=lambda o: (o["path"], o["method"])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parents[1] / "okta_magic" / "data" / "operations.json")
    args = parser.parse_args()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(args.spec.read_text(encoding="utf-8"), Loader=loader)
    catalogue = build(spec)
    args.out.write_text(json.dumps(catalogue, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    scoped = sum(1 for op in catalogue["operations"] if op["scopes"])
    print(f"{args.out}: {len(catalogue['operations'])} operations, {scoped} scoped, "
          f"spec {catalogue['source']['version']}")


if __name__ == "__main__":
    main()
