"""HTTP entry point of the web service: `GET /health` and `GET /arch` on port 8080, with JSON logs on stdout."""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

SERVICE = "web"
# uvicorn's loggers too ("uvicorn.error" propagates to "uvicorn"), so every line the container prints is JSON.
JSON_LOGGERS = ("web_service", "uvicorn", "uvicorn.access")
# The fields of uvicorn's access-log arguments, in its order, so log queries can filter on them.
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")

logger = logging.getLogger("web_service")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the keys Powertools writes in the api, so one log query fits both."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "service": SERVICE,
            "logger": record.name,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            entry["http"] = dict(zip(ACCESS_FIELDS, record.args, strict=True))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    """Send our logs and uvicorn's to stdout as JSON; runs when uvicorn imports the app, after its own setup."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    for name in JSON_LOGGERS:
        named = logging.getLogger(name)
        named.handlers = [handler]
        # Only our handler: no second, plain-text copy through the root logger.
        named.propagate = False
    logger.setLevel(level)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    # One line at start-up that says which architecture the task landed on.
    logger.info("web service started on %s", platform.machine())
    yield


configure_logging(os.environ.get("LOG_LEVEL", "INFO").upper())
# No /docs or /openapi.json: the service serves exactly the api's routes.
app = FastAPI(title=SERVICE, docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/arch")
async def arch() -> dict[str, str]:
    # `aarch64` on Graviton; the same answer the api gives.
    return {"machine": platform.machine()}
