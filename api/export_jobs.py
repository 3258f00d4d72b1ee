"""PNG and SVG pictures of a network drawn in the background, kept as files until they change.

Drawing a big network takes tens of seconds (a layout and matplotlib), far too long for a
request. A job is started per network, format and *public fingerprint* of the network
(``matching.overview``): the fingerprint covers exactly what the picture draws, so a write of
private data (a member's weaknesses) neither starts a new job nor changes what anyone reads
about one. One job per network, format and fingerprint exists at a time; jobs run one after
another on a single background thread; files go to a temporary directory (never the repository)
and the previous picture of a network is removed when a newer one is done.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.database import Database
from graph.export_formats import FORMATS, render
from graph.store import export_network

PICTURE_FORMATS = ("png", "svg")
log = logging.getLogger("partnermatch.export_jobs")


@dataclass
class Job:
    """One picture being drawn, or drawn: its state and, when done, its file."""

    nid: str
    fmt: str
    fingerprint: str
    state: str = "queued"  # queued, running, done, failed
    stage: str = "waiting for the jobs before it"
    percent: int = 0
    path: Path | None = None
    error: str | None = None

    def public(self) -> dict[str, Any]:
        """What readers see: state, stage and percent, and where the file is once done."""
        view: dict[str, Any] = {"network": self.nid, "format": self.fmt, "state": self.state,
                                "stage": self.stage, "percent": self.percent}
        if self.state == "done":
            view["download"] = f"/networks/{self.nid}/export-jobs/{self.fmt}/file"
        if self.error:
            view["error"] = self.error
        return view


def no_job(nid: str, fmt: str) -> dict[str, Any]:
    return {"network": nid, "format": fmt, "state": "none", "stage": "not started",
            "percent": 0}


class ExportJobs:
    """The picture jobs of this process (``app.state.export_jobs``)."""

    def __init__(self, directory: Path | None = None):
        self._directory = directory
        self._jobs: dict[tuple[str, str, str], Job] = {}
        self._guard = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._closing = False  # while ``close`` runs: the job running stops at its next step

    def _folder(self) -> Path:
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="partnermatch-pictures-"))
        self._directory.mkdir(parents=True, exist_ok=True)
        return self._directory

    def find(self, nid: str, fmt: str, fingerprint: str) -> Job | None:
        with self._guard:
            return self._jobs.get((nid, fmt, fingerprint))

    def start(self, db: Database, nid: str, fmt: str, fingerprint: str) -> Job:
        """The job for this picture: the one queued, running or done, else a new one (a failed
        one is tried again)."""
        if fmt not in PICTURE_FORMATS:
            raise ValueError(f"not a picture format: {fmt!r}")
        key = (nid, fmt, fingerprint)
        with self._guard:
            job = self._jobs.get(key)
            if job is not None and job.state != "failed":
                return job
            job = self._jobs[key] = Job(nid, fmt, fingerprint)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pictures")
            self._pool.submit(self._run, db, job)
            return job

    def _run(self, db: Database, job: Job) -> None:
        try:
            job.state, job.stage, job.percent = "running", "reading the network", 10
            if self._closing:
                return
            document = export_network(db, job.nid, include_confidential=False)
            job.stage, job.percent = "drawing the picture", 40
            if self._closing:
                return
            content = render(document, job.fmt)
            job.stage, job.percent = "saving the file", 90
            if self._closing:  # (its folder is about to be removed)
                return
            extension = FORMATS[job.fmt][1]
            path = self._folder() / f"{job.nid}-{job.fingerprint[:16]}.{extension}"
            partial = path.with_suffix(".part")
            partial.write_bytes(content)
            partial.replace(path)
            job.path = path
            job.state, job.stage, job.percent = "done", "ready to download", 100
        except Exception:  # reported on the job's page: the request path never sees a 500
            log.exception("the %s picture of network %r failed", job.fmt, job.nid)
            job.state, job.stage = "failed", "failed"
            job.error = "the picture could not be drawn; start it again, or ask an admin"
            return
        self._drop_older(job)

    def _drop_older(self, newest: Job) -> None:
        """Remove finished pictures of the same network and format older than ``newest``."""
        with self._guard:
            old = [k for k, j in self._jobs.items() if k[:2] == (newest.nid, newest.fmt)
                   and j is not newest and j.state in ("done", "failed")]
            for key in old:
                job = self._jobs.pop(key)
                if job.path is not None:
                    job.path.unlink(missing_ok=True)

    def forget(self, nid: str) -> None:
        """Drop the pictures of a deleted network."""
        with self._guard:
            for key in [k for k in self._jobs if k[0] == nid]:
                job = self._jobs.pop(key)
                if job.path is not None:
                    job.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Drop the queued jobs and wait for the one running (it stops at its next step), so
        that it neither reads the database once closed nor writes into the removed folder."""
        with self._guard:
            pool, self._pool = self._pool, None
            self._jobs.clear()
            self._closing = True
        try:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            with self._guard:
                self._closing = False
        if self._directory is not None and self._directory.name.startswith(
                "partnermatch-pictures-"):
            shutil.rmtree(self._directory, ignore_errors=True)
