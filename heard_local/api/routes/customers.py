"""Customers recognised across conversations (identity resolution)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from heard_local.api.deps import CallerDep, EngineDep
from heard_local.api.openapi import MAX_OFFSET, errors
from heard_local.views import CustomerPage, CustomerView

router = APIRouter(tags=["customers"], responses=errors(404))


@router.get("/customers", summary="List customers")
def list_customers(
    engine: EngineDep,
    _caller: CallerDep,
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> CustomerPage:
    customers, total = engine.customers.list(search=search, limit=limit, offset=offset)
    return CustomerPage(customers=customers, total=total, limit=limit, offset=offset)


@router.get("/customers/{customer_id}", summary="A customer with their conversations")
def get_customer(customer_id: str, engine: EngineDep, _caller: CallerDep) -> CustomerView:
    customer = engine.customers.get(customer_id)
    return CustomerView.of(customer, engine.customers.conversations(customer_id))
