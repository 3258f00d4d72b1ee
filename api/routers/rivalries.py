"""Facilitators' verdicts on rivalry: the list of rivals as the engine sees them, and the
verdicts that confirm or reject them (facilitators of the network and admins only)."""

import threading
import weakref
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status

from api.deps import MANAGERS, DbDep, PrincipalDep
from api.schemas import RivalriesPublic, RivalryPublic, RivalryVerdictPut, error_responses
from api.security import require_manager
from graph.rivalries import SameMember, clear_verdict, set_verdict
from graph.store import read_network
from graph.validation import DocumentInvalid, Problem
from matching.projection import NetworkProjection
from matching.rivalry import rivalries

_lock = threading.Lock()
_found: dict[str, tuple[Any, list[dict[str, Any]]]] = {}


def _rivalries(p: NetworkProjection) -> list[dict[str, Any]]:
    """``rivalries(p)``, computed once per state of the network: every change gives the live
    matcher a new projection (1.5 s a page at 10,000 members when computed for each)."""
    nid = p.network.get("id", "")
    with _lock:
        ref, found = _found.get(nid, (None, None))
        if found is not None and ref() is p:
            return found
    found = rivalries(p)
    with _lock:
        _found[nid] = (weakref.ref(p), found)
    return found


router = APIRouter(prefix="/networks/{nid}/rivalries", tags=["rivalries"],
                   responses=error_responses(401, 403, 404, 422))


@router.get("", response_model=RivalriesPublic)
def list_rivalries(
    nid: str, request: Request, db: DbDep, principal: PrincipalDep,
    offset: int = Query(0, ge=0, description="Pairs to skip"),
    limit: int = Query(100, ge=1, le=1000, description="Pairs per page (1-1000)"),
    member: str | None = Query(None, max_length=200,
                               description="Only the pairs this member is in (its id)"),
) -> dict[str, Any]:
    """Every pair the engine treats as rivals or that has a verdict, by the two member ids."""
    require_manager(principal, nid)
    read_network(db, nid)
    with request.app.state.matchers.reading(db, nid) as matcher:
        p = matcher.projection_
        found = _rivalries(p)
        if member:
            found = [r for r in found if member in (r["a"], r["b"])]
        page = found[offset:offset + limit]
        names = {mid: p.ties.nodes[mid].get("name") or mid
                 for r in page for mid in (r["a"], r["b"])}
    return {"network": nid, "count": len(found), "offset": offset, "limit": limit,
            "rivalries": [{**r, "a_name": names[r["a"]], "b_name": names[r["b"]]}
                          for r in page]}


def _pair_problem(exc: SameMember) -> DocumentInvalid:
    return DocumentInvalid([Problem("path.b", f"is {exc.args[0]!r} like path.a: a verdict is on "
                                              "two different members")])


@router.put("/{a}/{b}", response_model=RivalryPublic, dependencies=[MANAGERS])
def put_verdict(nid: str, a: str, b: str, body: RivalryVerdictPut, request: Request,
                db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """Confirm (``rivals``) or reject (``not_rivals``) that two members compete; either order."""
    require_manager(principal, nid)
    try:
        set_verdict(db, nid, a, b, body.verdict, body.note)
    except SameMember as exc:
        raise _pair_problem(exc) from None
    return _one(request, db, nid, a, b)


@router.delete("/{a}/{b}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_verdict(nid: str, a: str, b: str, db: DbDep, principal: PrincipalDep) -> Response:
    """Forget the verdict on two members: the pair goes back to inference."""
    require_manager(principal, nid)
    try:
        clear_verdict(db, nid, a, b)
    except SameMember as exc:
        raise _pair_problem(exc) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _one(request: Request, db: DbDep, nid: str, a: str, b: str) -> dict[str, Any]:
    """The pair as the list shows it, from the matcher caught up with the write."""
    first, second = sorted((a, b))
    with request.app.state.matchers.reading(db, nid) as matcher:
        p = matcher.projection_
        row = next(r for r in _rivalries(p) if (r["a"], r["b"]) == (first, second))
        return {**row, "a_name": p.ties.nodes[first].get("name") or first,
                "b_name": p.ties.nodes[second].get("name") or second}
