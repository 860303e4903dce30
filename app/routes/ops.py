"""Operations: liveness, readiness and Prometheus metrics. No session, no CSRF header."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from app.errors import StoreUnavailable
from app.routes.deps import AppMetrics, AppStore

router = APIRouter(tags=["operations"])
#: Served on the main port only when BFF_METRICS_PORT is unset (else by app.observe.metrics_listener).
metrics_router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive (checks no dependency)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Redis and configuration are usable", responses={503: {}})
async def readyz(store: AppStore) -> Response:
    try:
        await store.ping()
    except StoreUnavailable:
        return JSONResponse(
            {"status": "unavailable", "store": "unavailable"}, status_code=503, headers={"Retry-After": "2"}
        )
    return JSONResponse({"status": "ok", "store": "ok"})


@metrics_router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(registry: AppMetrics) -> Response:
    return Response(registry.render(), media_type=registry.content_type)
