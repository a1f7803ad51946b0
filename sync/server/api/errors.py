"""Errors as JSON ``{"error": code, "message": what, "fix": what to do}`` with a status matching the code."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from core.errors import EdgehrError, InputError, StoreError

_STATUS = {"not-found": 404, "conflict": 409, "unauthenticated": 401, "forbidden": 403, "consent-withdrawn": 409}


def error_response(exc: EdgehrError) -> JSONResponse:
    status = getattr(exc, "status", None) or _STATUS.get(exc.code)
    if status is None:
        status = 503 if isinstance(exc, StoreError) else 400 if isinstance(exc, InputError) else 500
    return JSONResponse({"error": exc.code, "message": exc.what, "fix": exc.fix}, status_code=status)


def _edgehr_error(request: Request, exc: EdgehrError) -> JSONResponse:
    return error_response(exc)


def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return JSONResponse(
        {
            "error": "invalid-request",
            "message": f"{where}: {first.get('msg', 'invalid')}",
            "fix": "Correct the request as described in /openapi.json.",
        },
        status_code=422,
    )


def install(app: FastAPI) -> None:
    """Answer our errors and FastAPI's validation errors in the API's JSON shape."""
    app.add_exception_handler(EdgehrError, _edgehr_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
