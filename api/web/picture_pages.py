"""The interactive picture's data and the PNG/SVG pictures drawn in the background, as pages.

Each calls the API's route functions (``api.routers.pictures``) with the session's principal,
so the pages allow exactly what the API does: facilitators, analysts and admins, public data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.routers import networks as networks_api
from api.routers import pictures as pictures_api
from api.security import Principal
from api.web.i18n import N_
from api.web.i18n import gettext as _
from api.web.render import guarded, page
from api.web.session import read_form
from matching.overview import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/n/{nid}")
FormDep = Annotated[dict[str, str], Depends(read_form)]
PICTURES = ("png", "svg")
STAGES = {"waiting for the jobs before it": N_("Waiting for the pictures before it"),
          "reading the network": N_("Reading the network"),
          "drawing the picture": N_("Drawing the picture"),
          "saving the file": N_("Saving the file")}  # api.export_jobs's stages, translated


def _format(fmt: str) -> str:
    if fmt not in PICTURES:
        raise HTTPException(404, _("There is no picture format %(format)r.") % {"format": fmt})
    return fmt


@router.get("/overview.json")
def overview(nid: str, request: Request, sector: str = Query("", max_length=200),
             region: str = Query("", max_length=200), community: int | None = Query(None, ge=0),
             q: str = Query("", max_length=200),
             limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)) -> Response:
    """The API's overview for the page's script, with the session's principal."""
    def work(principal: Principal) -> Response:
        found = pictures_api.overview(nid, request, request.app.state.db, principal,
                                      sector=sector or None, region=region or None,
                                      community=community, q=q or None, limit=limit)
        return JSONResponse(found)
    return guarded(request, work)


@router.post("/export-jobs/{fmt}")
def start_picture(nid: str, fmt: str, request: Request, form: FormDep) -> Response:
    """Start drawing a picture, then show its progress."""
    def work(principal: Principal) -> Response:
        pictures_api.start_export(nid, _format(fmt), request, request.app.state.db, principal)  # type: ignore[arg-type]
        return RedirectResponse(f"/n/{nid}/export-jobs/{fmt}", status_code=303)
    return guarded(request, work)


@router.get("/export-jobs/{fmt}")
def picture_job(nid: str, fmt: str, request: Request) -> Response:
    """A picture's progress (the page reloads itself until it is done), then its download."""
    def work(principal: Principal) -> Response:
        db = request.app.state.db
        job = pictures_api.export_job(nid, _format(fmt), request, db, principal)  # type: ignore[arg-type]
        stage = _(STAGES[job["stage"]]) if job["stage"] in STAGES else job["stage"]
        return page(request, "export_job.html", principal=principal, nid=nid, job=job,
                    stage=stage,
                    network=networks_api.get_network(nid, db, principal))
    return guarded(request, work)


@router.get("/export-jobs/{fmt}/file")
def picture_file(nid: str, fmt: str, request: Request) -> Response:
    def work(principal: Principal) -> Response:
        return pictures_api.export_file(nid, _format(fmt), request, request.app.state.db,  # type: ignore[arg-type]
                                        principal)
    return guarded(request, work)
