"""The README's screenshots, taken again from the seed data (run it when the pages change).

    python docs/screenshots/take.py

The seed networks are loaded into a fresh local database in a temporary directory, the app is
served by uvicorn, and Debian's Chromium (through playwright, as the browser tests use it) signs
in as a member of the herencia network for its suggested partners (``member-home.png``) and as
its facilitator for the network picture (``dashboard-picture.png``). Each picture is cut to its
section and reduced to 256 colours, so it stays well under 200 KB.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("PARTNERMATCH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
NID, MEMBER = "herencia", "panaderia-santa-ana"
MOST_BYTES = 200 * 1024


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
    context = browser.new_context(base_url=base, viewport={"width": 1200, "height": 900},
                                  locale="en-GB")
    context.set_default_timeout(120_000)
    page = context.new_page()
    page.goto("/signin")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/signin" not in url)
    return page


def _save(png: bytes, name: str) -> int:
    """``png`` reduced to 256 colours (adaptive palette) as ``name``; its size in bytes."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    reduced = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    reduced.save(out, format="PNG", optimize=True)
    (HERE / name).write_bytes(out.getvalue())
    return len(out.getvalue())


def take() -> dict[str, int]:
    from playwright.sync_api import sync_playwright

    from api.app import create_app
    from api.settings import ApiSettings
    from graph.database import open_database
    from graph.files import load_path
    from graph.settings import DatabaseSettings
    from graph.tokens import issue_token
    from seed_data import SEED_DIR

    data_dir = Path(tempfile.mkdtemp(prefix="pm-screenshots-"))
    sizes = {}
    try:
        settings = dataclasses.replace(DatabaseSettings.from_env(), data_dir=data_dir)
        with open_database(settings) as db:
            load_path(db, SEED_DIR / "taxonomy.json")
            for path in sorted(SEED_DIR.glob("*.json")):
                if path.name != "taxonomy.json":
                    load_path(db, path)
            member = issue_token(db, "member", NID, MEMBER)[0]
            facilitator = issue_token(db, "facilitator", NID, None)[0]
            app = create_app(ApiSettings(admin_token=None, first_fit_wait=600), database=db)
            base, server = _serve(app)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = _signed_in(browser, base, member)
                page.goto(f"/n/{NID}/home/{MEMBER}")
                cards = page.locator("#suggestions")
                sizes["member-home.png"] = _save(cards.screenshot(), "member-home.png")
                page.context.close()
                page = _signed_in(browser, base, facilitator)
                page.goto(f"/n/{NID}/dashboard")
                page.wait_for_selector("#network-view[data-state=drawn]")
                page.wait_for_timeout(1500)  # the layout's last frames
                picture = page.locator("section[aria-labelledby=pic-h]")
                sizes["dashboard-picture.png"] = _save(picture.screenshot(),
                                                       "dashboard-picture.png")
                browser.close()
            server.should_exit = True
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return sizes


if __name__ == "__main__":
    taken = take()
    for name, size in taken.items():
        print(f"{name}: {size / 1024:.0f} KB" + ("" if size <= MOST_BYTES else " (over 200 KB)"))
    raise SystemExit(0 if all(size <= MOST_BYTES for size in taken.values()) else 1)
