"""Lambda entry point of the api service: `GET /health` and `GET /arch` over an HTTP API (payload v2)."""

from __future__ import annotations

import platform

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
app = APIGatewayHttpResolver()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/arch")
def arch() -> dict[str, str]:
    # `aarch64` on Graviton; the verification command reads this.
    return {"machine": platform.machine()}


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
