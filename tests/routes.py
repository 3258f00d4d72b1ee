"""Every route of the app, found rather than listed: the API's from its OpenAPI document, the web
pages from the app's own routes (they stay out of the schema). Tests walk them so that a new route
is covered without anyone remembering to add it.

A route whose path or query parameters have no known values makes ``requests`` fail with the
parameter's name: add values to ``PATH_VALUES`` / ``QUERY_VALUES`` (or, for a POST that only
reads, a body to ``READ_ONLY_POSTS``) and every walking test covers it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

# Public documentation of the API: the same bytes for everyone (docs/security.md).
DOCUMENTATION = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


@dataclass
class Network:
    """What a walk needs to fill parameters: ids of the network's objects."""

    nid: str
    members: list[str]
    capabilities: list[str]  # a few: each is a listing filter on several routes
    sectors: list[str]
    regions: list[str]
    projects: list[str] = field(default_factory=list)
    introductions: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=lambda: ["bread"])


PathValues = dict[str, Callable[[Network], list[str]]]
PATH_VALUES: PathValues = {
    "nid": lambda n: [n.nid],
    "mid": lambda n: n.members,
    "pid": lambda n: n.projects,
    "iid": lambda n: n.introductions,
    "fmt": lambda n: ["json", "gexf", "graphml", "cytoscape", "csv", "png", "svg"],
    "name": lambda n: STATIC_FILES,
}
# Values tried for a query parameter, one parameter at a time, besides leaving it out. Enums from
# the OpenAPI document take every value without being listed here.
QUERY_VALUES: dict[str, Callable[[Network], list[str]]] = {
    "fresh": lambda n: ["true"],  # analyses: wait for the current version
    "sector": lambda n: n.sectors,
    "region": lambda n: n.regions,
    "capability": lambda n: n.capabilities,
    "q": lambda n: n.words,
    "limit": lambda n: ["2"],
    "offset": lambda n: ["1"],
    "threshold": lambda n: ["0.5"],
    "since": lambda n: ["2020-01-01"],
    "until": lambda n: ["2022-12-31"],
    "phase": lambda n: ["design"],
    "capacity": lambda n: ["1"],
    "full_at_members": lambda n: ["3"],
    "discount": lambda n: ["fuel:0.04"],
    "order": lambda n: ["declared-order"],
    "template": lambda n: n.templates or ["none"],
    "network": lambda n: [n.nid],
    "member": lambda n: n.members[:1],
    # web pages (their parameters carry no enums)
    "include": lambda n: ["capabilities"],
    "saved": lambda n: ["true"],
    "decided": lambda n: ["accepted"],
    "candidate": lambda n: n.members[:1],
    "next": lambda n: [f"/n/{n.nid}/members"],
    "done": lambda n: ["asked", "created"],
    # pages of long lists (api/web/paging.py) and the network picture's filters
    "page": lambda n: ["2"],
    "per_page": lambda n: ["1"],
    **{f"{table}_page": (lambda n: ["2"]) for table in (
        "members", "groups", "services", "training", "unmet", "roadmap", "gaps", "leaders",
        "invitations")},
    "community": lambda n: ["0", "1"],
}
# POST routes that change nothing: their answers are reads too.
READ_ONLY_POSTS: dict[str, Callable[[Network], dict[str, Any]]] = {
    "/networks/{nid}/consortia": lambda n: {"requirements": [
        {"capability": c, "quantity": 10} for c in n.capabilities[:2]]},
    "/networks/{nid}/value-chains": lambda n: {"stages": [
        {"id": "make", "requires": n.capabilities[:1]},
        {"id": "sell", "requires": n.capabilities[1:2] or n.capabilities[:1]}]},
}
STATIC_FILES: list[str] = []  # filled from the app by ``web_pages``


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    query: tuple[tuple[str, tuple[str, ...]], ...] = ()  # name, enum values (may be empty)
    web: bool = False


def _enum(schema: dict[str, Any], components: dict[str, Any]) -> tuple[str, ...]:
    if "$ref" in schema:
        return _enum(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    if "enum" in schema:
        return tuple(str(v) for v in schema["enum"])
    if "const" in schema:
        return (str(schema["const"]),)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            if found := _enum(option, components):
                return found
    if schema.get("type") == "array" and "items" in schema:
        return _enum(schema["items"], components)
    return ()


def api_routes(app: FastAPI) -> list[Route]:
    """Every operation of the OpenAPI document."""
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    routes = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            query = tuple((p["name"], _enum(p.get("schema", {}), components))
                          for p in op.get("parameters", []) if p["in"] == "query")
            routes.append(Route(method.upper(), path, query))
    return routes


def _app_routes(app: FastAPI) -> Iterator[Any]:
    for route in app.routes:
        # FastAPI >= 0.120 keeps included routers whole; older versions copy their routes in.
        if hasattr(route, "effective_route_contexts"):
            yield from route.effective_route_contexts()
        else:
            yield route


def web_pages(app: FastAPI) -> list[Route]:
    """The GET routes outside the OpenAPI document: web pages and static files."""
    pages = []
    for route in _app_routes(app):
        if "GET" not in (getattr(route, "methods", None) or ()) or route.path in DOCUMENTATION:
            continue
        if getattr(route, "include_in_schema", True):
            continue
        dependant = getattr(route, "dependant", None)
        names = [p.alias or p.name for p in dependant.query_params] if dependant else []
        pages.append(Route("GET", route.path, tuple((n, ()) for n in names), web=True))
    from api.web.pages import STATIC

    STATIC_FILES[:] = sorted(STATIC)
    return pages


def requests(route: Route, network: Network) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, url, JSON body) to call: every value of every path parameter, then each query
    parameter on its own with each of its values, and no query at all."""
    if route.method not in ("GET", "HEAD") and route.path not in READ_ONLY_POSTS:
        return []
    names = re.findall(r"{(\w+)}", route.path)
    missing = [n for n in names if n not in PATH_VALUES]
    assert not missing, f"{route.path}: add values for path parameter(s) {missing} to PATH_VALUES"
    body = READ_ONLY_POSTS[route.path](network) if route.path in READ_ONLY_POSTS else None
    queries: list[str] = [""]
    for name, values in route.query:
        if not values:
            assert name in QUERY_VALUES, (f"{route.method} {route.path}: add values for query "
                                          f"parameter {name!r} to QUERY_VALUES")
            values = tuple(QUERY_VALUES[name](network))
        queries += [f"?{name}={value}" for value in values]
    calls = []
    for combination in itertools.product(*(PATH_VALUES[n](network) for n in names)):
        path = route.path
        for name, value in zip(names, combination):
            path = path.replace("{" + name + "}", value, 1)
        calls += [(route.method, path + query, body) for query in queries]
    return calls
