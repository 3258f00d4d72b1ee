"""The ``partnermatch`` command line."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

from graph.database import DatabaseUnavailable, open_database
from graph.document import json_schema
from graph.files import DocumentFile, Loaded, load_document_file, read_document_file
from graph.local_server import LocalServer, LocalServerError
from graph.settings import DatabaseSettings
from graph.store import NetworkNotFound, export_network
from graph.validation import DocumentInvalid


def _print_summary(loaded: Loaded) -> None:
    if loaded.summary is None:
        print(f"  taxonomy {loaded.path.name}: {loaded.taxonomy_size} capabilities")
        return
    s = loaded.summary
    ties = ", ".join(f"{n} {t}" for t, n in s.ties.items()) or "no ties"
    print(f"  network {s.network}: {s.members} members, {s.capabilities} capabilities, "
          f"{s.weaknesses} weaknesses, {s.needs} needs; ties: {ties}")


def _rows(document: DocumentFile) -> int | None:
    """Members plus ties of a network document (what the progress bar counts)."""
    raw = document.raw
    if not isinstance(raw, dict):
        return None
    return sum(len(raw.get(key) or []) for key in ("members", "ties")
               if isinstance(raw.get(key), list))


def cmd_load(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    failures: list[DocumentInvalid] = []
    documents: list[DocumentFile] = []
    for path in args.files:
        try:
            documents.append(read_document_file(path))
        except DocumentInvalid as exc:
            failures.append(exc)
    # Taxonomies first, so a network may use capabilities that a taxonomy file on the line defines.
    documents.sort(key=lambda d: not d.is_taxonomy)
    loaded: list[Loaded] = []
    with open_database() as db:
        for document in documents:
            with tqdm(total=_rows(document), desc=document.path.name, unit=" members+ties",
                      file=sys.stderr, disable=document.is_taxonomy) as bar:
                def progress(what: str, rows: int, bar=bar) -> None:
                    if what == "start":
                        bar.reset()
                    bar.update(rows)

                try:
                    loaded.append(load_document_file(db, document, progress))
                except DocumentInvalid as exc:
                    failures.append(exc)
    for item in loaded:
        _print_summary(item)
    for exc in failures:
        print(f"error: {exc}", file=sys.stderr)
    return 1 if failures else 0


def cmd_export(args: argparse.Namespace) -> int:
    with open_database() as db:
        document = export_network(db, args.network)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        # The document holds every member's weaknesses and contact: its owner's only, as the
        # data directory is, whatever the umask (and an older, looser file is tightened).
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    settings = DatabaseSettings.from_env()
    if not settings.is_local:
        print(f"NEO4J_URI is set ({settings.uri}): that server is not managed by partnermatch",
              file=sys.stderr)
        return 2
    server = LocalServer(settings.data_dir, java_heap=settings.java_heap,
                         java_options=settings.java_options)
    if args.action == "start":
        info, started = server.start()
        print(f"{'started' if started else 'already running'}: {info.uri} (pid {info.pid}, "
              f"data {server.data_dir})")
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    else:
        info = server.status()
        if info is None:
            print(f"not running (data {server.data_dir})")
            return 3
        print(f"running: {info.uri} (pid {info.pid}, data {server.data_dir})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.settings import ApiSettings
    from graph.store import list_networks
    from graph.tokens import replace_bootstrap_token, retire_bootstrap_token
    from seed_data import seed_files

    settings = ApiSettings.from_env()
    with open_database() as db:
        if not list_networks(db):
            print("empty database: loading the seed networks", file=sys.stderr)
            for path in seed_files():
                _print_summary(load_document_file(db, read_document_file(path)))
        if settings.admin_token is None:
            token = replace_bootstrap_token(db)
            print(f"admin token (shown once, only its hash is stored; it stops working when "
                  f"PARTNERMATCH_ADMIN_TOKEN is set or once it mints an admin token): {token}",
                  flush=True)
        elif retire_bootstrap_token(db):
            print("PARTNERMATCH_ADMIN_TOKEN is set: the bootstrap admin token was retired",
                  file=sys.stderr)
        print(f"partnermatch on http://{args.host}:{args.port} (API docs at /docs)", flush=True)
        if args.workers > 1:
            # Each worker opens its own driver (on the server started here) and keeps its
            # matchers current through the change log (docs/architecture.md); uvicorn's
            # supervisor handles the signals.
            uvicorn.run("api.app:create_app", factory=True, host=args.host, port=args.port,
                        workers=args.workers, log_level=args.log_level)
            return 0
        app = create_app(settings, database=db)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port,
                                               log_level=args.log_level))
        _stop_on_signals(server)
        server.run()
    return 0


def _stop_on_signals(server) -> None:
    """Let SIGTERM, SIGINT and SIGHUP stop the database server we use, not only uvicorn.

    uvicorn shuts down gracefully on SIGINT and SIGTERM, then restores the handlers it found and
    raises the signal again; with the default handler the process would die there, before the
    ``with open_database()`` block stops the database (an orphan Java process). So the handler it
    finds turns SIGTERM into ``SystemExit``; SIGINT already becomes ``KeyboardInterrupt``. SIGHUP,
    which uvicorn ignores, asks it for the same graceful shutdown.
    """
    def exit_now(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    def shut_down(signum: int, frame: object) -> None:
        server.handle_exit(signal.SIGTERM, None)

    signal.signal(signal.SIGTERM, exit_now)
    signal.signal(signal.SIGHUP, shut_down)


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="partnermatch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    load = commands.add_parser("load", help="validate and load network documents (JSON or CSV)")
    load.add_argument("files", nargs="+", help="JSON documents, CSV folders or CSV zips")
    load.set_defaults(run=cmd_load)

    export = commands.add_parser("export", help="write a network back as a document")
    export.add_argument("network")
    export.add_argument("--format", choices=["json"], default="json")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.set_defaults(run=cmd_export)

    db = commands.add_parser("db", help="manage the local database server")
    db.add_argument("action", choices=["start", "stop", "status"])
    db.set_defaults(run=cmd_db)

    serve = commands.add_parser("serve", help="run the HTTP API (loads the seeds into an empty "
                                              "database)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes; they stay consistent through the change log")
    serve.set_defaults(run=cmd_serve)

    schema = commands.add_parser("schema", help="print the JSON Schema of a network document")
    schema.set_defaults(run=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except LocalServerError as exc:
        print(f"error: the local database could not be used: {exc}", file=sys.stderr)
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
    except NetworkNotFound as exc:
        print(f"error: no network {exc.args[0]!r} is stored", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
