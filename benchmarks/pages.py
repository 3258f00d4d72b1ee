"""The web pages of a large network in a real browser (issue 13): time to first byte and weight.

    nice -n 10 python benchmarks/pages.py --members 10000

A synthetic network (``benchmarks/synthetic.py``) is imported into a fresh local database, the
app is served by uvicorn, and Debian's Chromium (through playwright) opens every page of every
role: once with an empty cache (its weight: the bytes transferred for the page and everything it
loads) and then ``--repeat`` times warm (time to first byte from the browser's Navigation Timing,
``responseStart - requestStart``). Then a member's edit through the API, followed at once by the
facilitator's dashboard (the live engine catches up; the analyses answer from their last
snapshot and refresh in the background): how long the dashboard takes, and how long until its
figures include the edit. Last, the PNG and SVG pictures as background jobs: how long they take,
which is what drawing the picture on the request path used to cost the dashboard (the naive way).
The machine's load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import synthetic  # noqa: E402

CHROMIUM = os.environ.get("PARTNERMATCH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
NAVIGATION = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  return {ttfb_ms: n.responseStart - n.requestStart, html_bytes: n.encodedBodySize,
          transferred: n.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
          resources: resources.length, dom_nodes: document.getElementsByTagName("*").length,
          load_ms: n.loadEventEnd - n.startTime};
}"""


def _serve(app: Any) -> tuple[str, Any]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def _signed_in(browser: Any, base: str, token: str) -> Any:
    context = browser.new_context(base_url=base)
    context.set_default_timeout(600_000)
    page = context.new_page()
    page.goto("/signin")
    page.fill("#token", token)
    page.click("main button[type=submit]")  # not the language switch's
    page.wait_for_url(lambda url: "/signin" not in url)
    return page


def _measure(page: Any, path: str, repeat: int, *, drawn: bool) -> dict[str, Any]:
    """The first visit (cold cache: weight) and ``repeat`` warm ones (time to first byte)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    response = page.goto(path)
    page.wait_for_load_state("load")
    first = page.evaluate(NAVIGATION)
    out: dict[str, Any] = {"path": path, "status": response.status if response else None,
                           "weight_kb": round(first["transferred"] / 1024, 1),
                           "html_kb": round(first["html_bytes"] / 1024, 1),
                           "dom_nodes": first["dom_nodes"]}
    if drawn:
        start = time.perf_counter()
        page.wait_for_selector("#network-view[data-state=drawn]", timeout=120_000)
        out["picture_drawn_after_load_s"] = round(time.perf_counter() - start, 2)
        out["weight_kb_with_picture_data"] = round(page.evaluate(
            "performance.getEntriesByType('resource').reduce((s, r) => s + r.transferSize, "
            "performance.getEntriesByType('navigation')[0].transferSize)") / 1024, 1)
    warm = []
    for _ in range(repeat):
        page.goto(path)
        page.wait_for_load_state("load")
        warm.append(page.evaluate(NAVIGATION)["ttfb_ms"])
    out["warm_ttfb_ms_median"] = round(statistics.median(warm), 1)
    out["warm_ttfb_ms_max"] = round(max(warm), 1)
    return out


def run(members: int, seed: int, repeat: int, picture_timeout: float, edits: int = 3
        ) -> dict[str, Any]:
    from fastapi.testclient import TestClient  # noqa: F401 - only to fail early without it
    from playwright.sync_api import sync_playwright

    from api.app import create_app
    from api.settings import ApiSettings
    from graph.database import open_database
    from graph.settings import DatabaseSettings
    from graph.store import import_network
    from graph.tokens import issue_token

    try:
        import httpx2 as httpx  # what the test extra installs (FastAPI's TestClient uses it)
    except ImportError:
        import httpx

    data_dir = Path(tempfile.mkdtemp(prefix="pm-bench-pages-"))
    settings = dataclasses.replace(DatabaseSettings.from_env(), data_dir=data_dir)
    nid = f"pages-{members}"
    document = synthetic.generate(members, seed, nid=nid)
    ids = sorted(m["id"] for m in document["members"])
    out: dict[str, Any] = {"members": members, "cpus": os.cpu_count(),
                           "load_at_start": os.getloadavg()}
    try:
        with open_database(settings) as db:
            start = time.perf_counter()
            import_network(db, document)
            out["import_s"] = round(time.perf_counter() - start, 1)
            app = create_app(ApiSettings(admin_token=None, first_fit_wait=600,
                                         max_body_bytes=64 * 1024 * 1024), database=db)
            base, server = _serve(app)
            tokens = {role: issue_token(db, role, nid, ids[0] if role == "member" else None)[0]
                      for role in ("facilitator", "analyst", "member")}
            api = httpx.Client(base_url=base, timeout=900)
            bearer = {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}
            start = time.perf_counter()  # first fits (live matcher, analyses' snapshot)
            for path in ("metrics", "overview", "opportunities/shared-services"):
                api.get(f"/networks/{nid}/{path}", headers=bearer["facilitator"])
            out["first_fits_s"] = round(time.perf_counter() - start, 1)
            pages = {
                "facilitator": [("/n/{nid}/dashboard", True), ("/n/{nid}/members", False),
                                ("/n/{nid}/members?page=200", False),
                                ("/n/{nid}/members?q=firm+12", False),
                                ("/n/{nid}/home/{mid}", False), ("/n/{nid}/projects", False),
                                ("/n/{nid}/agents", False), ("/n/{nid}/onboarding", False),
                                ("/n/{nid}/onboarding?q=firm+12&page=2", False),
                                ("/n/{nid}/rivalries", False),
                                ("/n/{nid}/rivalries?page=3", False)],
                "analyst": [("/n/{nid}/exports", True), ("/n/{nid}/export-jobs/png", False),
                            ("/n/{nid}/members/{mid}", False)],
                "member": [("/n/{nid}/home/{mid}", False), ("/n/{nid}/members", False),
                           ("/n/{nid}/members/{other}", False), ("/n/{nid}/projects", False)],
            }
            rows = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for role, paths in pages.items():
                    page = _signed_in(browser, base, tokens[role])
                    for template, drawn in paths:
                        path = template.format(nid=nid, mid=ids[0], other=ids[1])
                        page.goto(path)  # every analysis the page asks for, computed once
                        rows.append({"role": role, **_measure(page, path, repeat,
                                                              drawn=drawn)})
                        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                    page.context.close()
                out["pages"] = rows
                out["after_edit"] = _after_edit(api, browser, base, nid, document, ids,
                                                tokens, bearer, edits)
                browser.close()
            if picture_timeout > 0:
                out["pictures"] = _pictures(api, nid, bearer["analyst"], picture_timeout)
            out["load_at_end"] = os.getloadavg()
            server.should_exit = True
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


def _after_edit(api: Any, browser: Any, base: str, nid: str, document: dict[str, Any],
                ids: list[str], tokens: dict[str, str], bearer: dict[str, Any], edits: int,
                wait: float = 120.0) -> dict[str, Any]:
    """A member's edit through the API, then the dashboard at once (``edits`` times): how long
    the dashboard takes to load, and how long until the analyses' figures include the edit
    (given up after ``wait`` seconds: the figure then says so)."""
    page = _signed_in(browser, base, tokens["facilitator"])
    page.goto(f"/n/{nid}/dashboard")
    members = {m["id"]: m for m in document["members"]}
    answered, reflected, first_byte = [], [], []
    before = None
    for i in range(edits):
        if before is None:  # the current version: a full refresh at 10,000 members, so only
            before = api.get(f"/networks/{nid}/metrics", params={"fresh": "true"},  # when
                             headers=bearer["facilitator"]).json()["as_of"]["version"]  # unknown
        member = dict(members[ids[(100 + i) % len(ids)]],
                      description=f"Edited for the benchmark, {i}.")
        put = api.put(f"/networks/{nid}/members/{member['id']}", json=member,
                      headers=bearer["facilitator"])
        put.raise_for_status()
        edited = time.perf_counter()
        page.goto(f"/n/{nid}/dashboard")
        page.wait_for_load_state("load")
        answered.append(time.perf_counter() - edited)
        first_byte.append(page.evaluate(NAVIGATION)["ttfb_ms"])
        while True:  # the analyses' background refresh includes the edit
            as_of = api.get(f"/networks/{nid}/metrics", headers=bearer["facilitator"]
                            ).json()["as_of"]
            if as_of["version"] > before or time.perf_counter() - edited > wait:
                break
            time.sleep(0.5)
        took = time.perf_counter() - edited
        reflected.append(round(took, 1) if as_of["version"] > before else f"not within {wait:g}")
        # Reflected: the figures are at the current version (no other writes). Else unknown.
        before = as_of["version"] if as_of["version"] > before else None
    page.context.close()
    return {"dashboard_loaded_s": [round(s, 2) for s in answered],
            "dashboard_ttfb_ms": [round(t) for t in first_byte],
            "figures_include_the_edit_s": reflected}


def _pictures(api: Any, nid: str, headers: dict[str, str], timeout: float) -> dict[str, Any]:
    out = {}
    for fmt in ("png", "svg"):
        start = time.perf_counter()
        api.post(f"/networks/{nid}/export-jobs/{fmt}", headers=headers).raise_for_status()
        while True:
            job = api.get(f"/networks/{nid}/export-jobs/{fmt}", headers=headers).json()
            if job["state"] in ("done", "failed") or time.perf_counter() - start > timeout:
                break
            time.sleep(1)
        out[fmt] = {"state": job["state"], "stage": job["stage"],
                    "seconds": round(time.perf_counter() - start, 1)}
        if job["state"] == "done":
            size = len(api.get(job["download"], headers=headers).content)
            out[fmt]["file_kb"] = round(size / 1024)
        else:
            break  # the next would queue behind this one
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="warm visits per page")
    parser.add_argument("--edits", type=int, default=3,
                        help="member edits, each followed by the dashboard")
    parser.add_argument("--picture-timeout", type=float, default=150.0,
                        help="seconds given to each picture job (0: no pictures)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = run(args.members, args.seed, args.repeat, args.picture_timeout, args.edits)
    out["benchmark_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    # A picture job still drawing when its time ran out would keep the interpreter waiting on
    # its worker thread at exit (the database and the figures are already done with).
    os._exit(code)
