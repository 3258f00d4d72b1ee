from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DbDep
from api.schemas import Health
from graph.database import DatabaseUnavailable

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(db: DbDep):
    """Liveness and database reachability; needs no token."""
    try:
        db.ping()
    except DatabaseUnavailable:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return Health(status="ok", database="ok")
