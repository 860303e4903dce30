"""The ops routes on their own: liveness asks nothing, readiness asks the store, metrics show the registry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from app.observe.metrics import Metrics
from app.routes import ops
from app.services import Services
from app.settings import Settings
from app.store.memory_store import MemoryStore
from app.store.protocol import Store
from app.store.redis_store import RedisStore
from tests.support.ports import free_port


def _app(store: Store) -> FastAPI:
    app = FastAPI()
    app.include_router(ops.router)
    app.include_router(ops.metrics_router)  # on the main port unless BFF_METRICS_PORT is set
    settings = Settings(_env_file=None, bff_cookie_secure=False)  # type: ignore[call-arg]
    app.state.services = Services.open(settings, metrics=Metrics(), store=store)
    return app


@pytest.fixture
async def down_store() -> AsyncIterator[RedisStore]:
    """A Redis store whose server is not there: nothing listens on its port."""
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    store = RedisStore(client, timeout=2)
    yield store
    await store.aclose()


async def _get(app: FastAPI, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bff") as client:
        return await client.get(path)


async def test_healthz_answers_even_when_the_store_is_down(down_store: RedisStore) -> None:
    response = await _get(_app(down_store), "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ok_when_the_store_answers() -> None:
    response = await _get(_app(MemoryStore()), "/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "ok"}


async def test_readyz_is_503_with_retry_after_when_the_store_is_down(down_store: RedisStore) -> None:
    response = await _get(_app(down_store), "/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "store": "unavailable"}
    assert response.headers["retry-after"] == "2"


async def test_metrics_render_the_apps_registry() -> None:
    app = _app(MemoryStore())
    app.state.services.metrics.requests.labels(route="/auth/login", status="200").inc()
    response = await _get(app, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == Metrics.content_type
    assert 'bff_requests_total{route="/auth/login",status="200"} 1.0' in response.text
