"""The network as data for the interactive picture, and PNG/SVG pictures as background jobs.

Both follow the picture export's rule: facilitators, analysts and admins; public data only.
Both come from the analyses' snapshot of the network (``api.analyses``), never from a full
export on the request path.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, JSONResponse, Response

from api.deps import DbDep, PrincipalDep
from api.export_jobs import no_job
from api.schemas import error_responses
from api.security import Principal, Role, require_roles
from graph.database import Database
from graph.export_formats import FORMATS
from matching.overview import DEFAULT_LIMIT, MAX_LIMIT, Overview, build_overview, filters, select

router = APIRouter(prefix="/networks/{nid}", tags=["pictures"],
                   responses=error_responses(401, 403, 404, 422, 503))
PictureFormat = Literal["png", "svg"]
SYNC_PICTURE_MEMBERS = 300  # above this, ``GET /export`` of a picture starts a job instead


def picture_export(request: Request, db: Database, nid: str, fmt: str) -> Response | None:
    """``GET /export`` of a PNG or SVG: the drawn file when a job has drawn it; for a network
    larger than ``SYNC_PICTURE_MEMBERS`` the job's state (202, started if need be) rather than
    drawing on the request path; ``None`` (draw it now) for a small network."""
    found = overview_of(request, db, nid)
    jobs = request.app.state.export_jobs
    job = jobs.find(nid, fmt, found.fingerprint)
    if job is not None and job.state == "done" and job.path is not None and job.path.exists():
        media_type, extension = FORMATS[fmt]
        return FileResponse(job.path, media_type=media_type, filename=f"{nid}.{extension}")
    if len(found.members) <= SYNC_PICTURE_MEMBERS:
        return None
    job = jobs.start(db, nid, fmt, found.fingerprint)
    return JSONResponse(job.public(), status_code=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/networks/{nid}/export-jobs/{fmt}"})


def overview_of(request: Request, db: Database, nid: str) -> Overview:
    """The network's overview, built once per snapshot (and again after each write)."""
    overview, _ = request.app.state.analyses.get(db, nid, "overview",
                                                 lambda m: build_overview(m.projection_))
    return overview


def member_link(principal: Principal, nid: str) -> str:
    """Where a member of the picture leads: its suggestions for the network's managers, its
    public profile for analysts (``{id}`` is replaced by the member's id)."""
    if principal.manages(nid):
        return f"/n/{nid}/home/{{id}}#suggestions"
    return f"/n/{nid}/members/{{id}}"


@router.get("/overview")
def overview(
    nid: str, request: Request, db: DbDep, principal: PrincipalDep,
    sector: str | None = Query(None, max_length=200),
    region: str | None = Query(None, max_length=200),
    community: int | None = Query(None, ge=0, description="A community's number (see filters)"),
    q: str | None = Query(None, max_length=200, description="Text in a member's name (case "
                                                            "and accents folded)"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Members drawn at most"),
) -> dict[str, Any]:
    """The network to draw: its members and ties, or, for a big network with no filter, its
    communities collapsed; the highest-degree members first (facilitator, admin, analyst)."""
    require_roles(principal, nid, Role.FACILITATOR, Role.ANALYST)
    found = overview_of(request, db, nid)
    part = select(found, sector=sector or "", region=region or "", community=community,
                  q=q or "", limit=limit)
    return {"network": nid, **part, "filters": filters(found),
            "link": member_link(principal, nid)}


@router.post("/export-jobs/{fmt}", status_code=status.HTTP_202_ACCEPTED)
def start_export(nid: str, fmt: PictureFormat, request: Request, db: DbDep,
                 principal: PrincipalDep) -> dict[str, Any]:
    """Start drawing the network's PNG or SVG picture in the background (or find the job that
    is drawing or has drawn it); poll ``GET`` on the same path for its progress."""
    require_roles(principal, nid, Role.FACILITATOR, Role.ANALYST)
    fingerprint = overview_of(request, db, nid).fingerprint
    return request.app.state.export_jobs.start(db, nid, fmt, fingerprint).public()


@router.get("/export-jobs/{fmt}")
def export_job(nid: str, fmt: PictureFormat, request: Request, db: DbDep,
               principal: PrincipalDep) -> dict[str, Any]:
    """The picture job's state (none, queued, running, done, failed), stage and percent, and
    its download address once done."""
    require_roles(principal, nid, Role.FACILITATOR, Role.ANALYST)
    fingerprint = overview_of(request, db, nid).fingerprint
    job = request.app.state.export_jobs.find(nid, fmt, fingerprint)
    return job.public() if job else no_job(nid, fmt)


@router.get("/export-jobs/{fmt}/file", response_class=FileResponse,
            responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}},
                       409: {"description": "The picture is not drawn yet"}})
def export_file(nid: str, fmt: PictureFormat, request: Request, db: DbDep,
                principal: PrincipalDep) -> FileResponse:
    """The drawn picture; 409 while it is not ready (start it with ``POST``)."""
    require_roles(principal, nid, Role.FACILITATOR, Role.ANALYST)
    fingerprint = overview_of(request, db, nid).fingerprint
    job = request.app.state.export_jobs.find(nid, fmt, fingerprint)
    if job is None or job.state != "done" or job.path is None or not job.path.exists():
        raise HTTPException(status.HTTP_409_CONFLICT, f"the {fmt} picture of this network is not "
                            "ready: start it with POST on /networks/{nid}/export-jobs/{fmt}")
    media_type, extension = FORMATS[fmt]
    return FileResponse(job.path, media_type=media_type, filename=f"{nid}.{extension}")
