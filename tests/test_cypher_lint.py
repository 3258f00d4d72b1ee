"""Every Cypher statement stays valid for Neo4j 5 and 2025, checked without a Neo4j server.

The suite runs against ArcadeDB, which accepts some Cypher that Neo4j refuses or deprecates. This
test runs last: it takes every statement the code sent during the run (recorded by the session's
``db`` fixture), plus every constant of ``graph.queries`` and ``graph.schema`` in case this test
runs alone, through Neo4j's own Cypher front end, the npm package
``@neo4j-cypher/language-support`` (``lintCypherQuery`` with semantic analysis, as Cypher 5 and
Cypher 25), and fails on any error, deprecation or warning (a cartesian product included).

The package is installed by the test into a cache directory outside the repository
(``$XDG_CACHE_HOME/partnermatch/cypher-lint``, else ``~/.cache/...``); only a machine without
node and npm skips it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from graph import queries, schema
from tests.conftest import RECORDED_STATEMENTS

pytestmark = pytest.mark.after_suite

PACKAGE = "@neo4j-cypher/language-support"
VERSION = "2.0.0-next.38"  # pinned: a new front end may judge differently; bump on purpose
LINTER = Path(__file__).parent / "cypher" / "lint.cjs"


def constant_statements() -> set[str]:
    found: set[str] = set(schema.STATEMENTS)
    for name in dir(queries):
        value = getattr(queries, name)
        if name.isupper() and isinstance(value, str):
            found.add(value)
        elif name.isupper() and isinstance(value, dict):
            found.update(v for v in value.values() if isinstance(v, str))
    # Whole statements only: some constants are fragments (a column list) composed into others.
    # (and no templates, whose filled-in forms are among the constants).
    return {s for s in found if "{{" not in s
            and re.match(r"\s*(MATCH|OPTIONAL|MERGE|CREATE|UNWIND|WITH|RETURN|CALL)\b", s)}


def front_end() -> Path:
    """A directory whose node_modules holds the pinned package (installed once)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run Neo4j's Cypher front end")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = cache / "partnermatch" / "cypher-lint" / VERSION
    if not (home / "node_modules" / PACKAGE / "package.json").is_file():
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(home), "--no-audit", "--no-fund",
                        "--loglevel=error", f"{PACKAGE}@{VERSION}"],
                       check=True, capture_output=True, timeout=600)
    return home


def lint(statements: list[str]) -> list[dict]:
    payload = [{"query": s, "parameters": {name: None for name in
                                           re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", s)}}
               for s in statements]
    done = subprocess.run(["node", str(LINTER), str(front_end())], input=json.dumps(payload),
                          capture_output=True, text=True, check=True, timeout=600)
    return json.loads(done.stdout)


def test_the_linter_catches_what_neo4j_refuses() -> None:
    # The check itself can fail: an old syntax, a deprecated function and a cartesian product.
    results = lint(["MATCH (n) WHERE exists(n.x) RETURN n", "MATCH (n) RETURN id(n) AS i",
                    "MATCH (a:A), (b:B) RETURN a, b", "MATCH (a:A {id: $id}) RETURN a.x AS x"])
    flagged = {r["query"] for r in results if r["diagnostics"]}
    assert flagged == {"MATCH (n) WHERE exists(n.x) RETURN n", "MATCH (n) RETURN id(n) AS i",
                       "MATCH (a:A), (b:B) RETURN a, b"}


def test_every_statement_is_valid_cypher_5_and_25() -> None:
    statements = sorted(RECORDED_STATEMENTS | constant_statements())
    problems = [f"{r['version']}: {d['message']}\n{r['query'].strip()}"
                for r in lint(statements) for d in r["diagnostics"]]
    assert not problems, "\n\n".join(problems)
