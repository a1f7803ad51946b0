"""HR user accounts (admins only): people sign in to the pages with them; machines keep API tokens."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sync.server import users
from sync.server.api.deps import Admin, Store
from sync.server.auth import Role
from sync.server.bounds import RowId
from sync.server.store.employees import NotFound

router = APIRouter()


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(pattern=users.USERNAME.pattern, description="sign-in name")]
    role: Role
    password: Annotated[str, Field(min_length=users.MIN_PASSWORD_LENGTH, max_length=256,
                                   description="kept only as an scrypt hash")]
    employee_no: str | None = Field(None, min_length=1, max_length=64,
                                    description="role employee only: the employee this account belongs to")


@router.post("/api/users", status_code=201)
def create_user(body: UserIn, who: Admin, store: Store) -> dict[str, Any]:
    user_id = users.create_user(store, body.username, body.role, body.password, actor=who.actor,
                                employee_no=body.employee_no)
    return {"id": user_id, "username": body.username, "role": body.role, "employee_no": body.employee_no}


@router.get("/api/users")
def list_users(who: Admin, store: Store) -> dict[str, Any]:
    return {"users": users.list_users(store)}


@router.post("/api/users/{user_id}/disable")
def disable_user(user_id: RowId, who: Admin, store: Store) -> dict[str, Any]:
    if not users.disable_user(store, user_id, actor=who.actor):
        raise NotFound(f"There is no active user {user_id}.", "List users with GET /api/users.")
    return {"id": user_id, "disabled": True}
