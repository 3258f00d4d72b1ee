"""A large import as a new user runs it: ``partnermatch load`` of one big document, timed, with
the peak memory of both processes (the CLI and the database server).

    python benchmarks/synthetic.py --members 100000 -o /tmp/net-100k.json
    python benchmarks/large_import.py /tmp/net-100k.json [--api] [--json out.json]

The database runs in a fresh temporary ``PARTNERMATCH_DATA`` started with ``partnermatch db
start``, so that its peak resident memory (``VmHWM``) can be read before it is stopped; the CLI's
peak is ``ru_maxrss`` of the child. With ``--api`` the same document then goes through ``POST
/networks/{nid}/import`` of a ``partnermatch serve`` (body limit raised) on a second fresh
database, so both ways measure the import of a new network; the service's peak is read the same
way. Everything started here is stopped, the directories removed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_through_cli(path: Path, env: dict[str, str]) -> dict[str, Any]:
    start = time.perf_counter()
    done = subprocess.run(_cli("load", str(path)), env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"partnermatch load failed:\n{done.stderr[-3000:]}")
    return {"seconds": round(seconds, 1),
            "cli_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def load_through_api(path: Path, env: dict[str, str], nid: str) -> dict[str, Any]:
    import httpx2 as httpx

    port, token = _free_port(), "pm_bench_" + secrets.token_urlsafe(16)
    size_mb = path.stat().st_size // (1 << 20) + 16
    log = tempfile.TemporaryFile()  # the service's log, shown if the import fails
    serve = subprocess.Popen(_cli("serve", "--port", str(port), "--log-level", "warning"),
                             env={**env, "PARTNERMATCH_ADMIN_TOKEN": token,
                                  "PARTNERMATCH_MAX_BODY_MB": str(size_mb)},
                             stdout=subprocess.DEVNULL, stderr=log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=3600,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            while True:
                try:
                    if client.get("/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.5)
            body = path.read_bytes()
            start = time.perf_counter()
            answer = client.post(f"/networks/{nid}/import", content=body,
                                 headers={"Content-Type": "application/json"})
            seconds = time.perf_counter() - start
            if answer.status_code != 200:
                log.seek(0)
                raise RuntimeError(f"POST /networks/{nid}/import answered {answer.status_code} "
                                   f"after {seconds:.0f} s: {answer.text[:2000]}\n"
                                   f"{log.read()[-5000:].decode(errors='replace')}")
        return {"seconds": round(seconds, 1), "service_peak_mb": round(_peak_kib(serve.pid) / 1024)}
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", type=Path)
    parser.add_argument("--api", action="store_true", help="also import through the API")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--ways", nargs="*", choices=("cli", "api"),
                        help="only these ways (default: cli, and api with --api)")
    args = parser.parse_args(argv)
    document = json.loads(args.document.read_text())
    members, ties = len(document["members"]), len(document["ties"])
    nid = document["network"]["id"]
    del document
    out: dict[str, Any] = {"members": members, "ties": ties,
                           "document_mb": round(args.document.stat().st_size / 1e6, 1),
                           "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    # Each way in a database of its own: both measure a new network's import (a re-import of
    # 100,000 members also deletes what the first left, a different operation).
    for way in args.ways or (("cli", "api") if args.api else ("cli",)):
        data = Path(tempfile.mkdtemp(prefix="pm-large-import-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
        env["PARTNERMATCH_DATA"] = str(data / "data")
        try:
            subprocess.run(_cli("db", "start"), env=env, check=True, capture_output=True)
            db_pid = json.loads((data / "data" / "server.json").read_text())["pid"]
            if way == "api":  # a service on an empty database would load the seed networks,
                # whose shared taxonomy the synthetic one clashes with: start it on a placeholder
                placeholder = data / "placeholder.json"
                placeholder.write_text(json.dumps({"network": {"id": "placeholder",
                                                               "name": "Placeholder"},
                                                   "members": [], "ties": []}))
                subprocess.run(_cli("load", str(placeholder)), env=env, check=True,
                               capture_output=True)
            part = (load_through_cli(args.document, env) if way == "cli" else
                    load_through_api(args.document, env, nid))
            part["members_per_s"] = round(members / part["seconds"])
            part["database_peak_mb"] = round(_peak_kib(db_pid) / 1024)
            out[way] = part
        except RuntimeError as exc:  # reported with what was measured before it
            out[way] = {"error": str(exc)[-4000:]}
        finally:
            subprocess.run(_cli("db", "stop"), env=env, capture_output=True)
            shutil.rmtree(data, ignore_errors=True)
        print(json.dumps({way: out[way]}), file=sys.stderr, flush=True)
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
