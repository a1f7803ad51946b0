"""What the HR server's FastAPI app carries in ``app.state`` (``sync.server.api.create_app`` puts it
there), as FastAPI dependencies for the API's and the pages' routers.

The routers are module-level and hold no state of their own: two apps over two stores in one process (as
the tests build) share them, each request reading its own app's store and config.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated

from fastapi import Depends, Request

from sync.server.config import ServerConfig
from sync.server.enrolment import ServerEnroller
from sync.server.store import HRStore


def get_store(request: Request) -> HRStore:
    store: HRStore = request.app.state.store
    return store


def get_config(request: Request) -> ServerConfig:
    config: ServerConfig = request.app.state.config
    return config


def get_enroller(request: Request) -> ServerEnroller:
    enroller: ServerEnroller = request.app.state.enroller
    return enroller


Store = Annotated[HRStore, Depends(get_store)]
Config = Annotated[ServerConfig, Depends(get_config)]
Enroller = Annotated[ServerEnroller, Depends(get_enroller)]
