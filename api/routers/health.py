import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import DbDep
from api.schemas import Health
from graph import queries as q
from graph.database import Database, DatabaseUnavailable, StorageFull

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(db: DbDep, request: Request):
    """Liveness, database reachability and whether writes work; needs no token.

    200 with status `degraded` while reads work but writes fail (a full disk); 503 with
    `Retry-After` while the database is unreachable or restarting.
    """
    wait = db.availability()
    if wait is not None:
        return _unavailable("restarting", wait)
    try:
        db.ping()
    except DatabaseUnavailable as exc:
        return _unavailable("unreachable", exc.retry_after)
    if db.write_failure is not None and not _writes_work(db):
        return Health(status="degraded", database="ok", writes=db.write_failure,
                      matchers=request.app.state.matchers.status())
    return Health(status="ok", database="ok", matchers=request.app.state.matchers.status())


def _writes_work(db: Database) -> bool:
    """Try a write, so that health notices when a failing disk has space again."""
    try:
        db.write(lambda tx: tx.run(q.PROBE_WRITE, at=time.time()).consume(), attempts=1)
    except (StorageFull, DatabaseUnavailable):
        return False
    return True


def _unavailable(state: str, retry_after: float) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "database": state, "writes": "unavailable"},
                        status_code=503, headers={"Retry-After": str(max(1, round(retry_after)))})
