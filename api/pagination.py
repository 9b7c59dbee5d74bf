"""Paging for list endpoints: `page` and `page_size` in, `items` and `total` (with `total_exact`) out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import Select
from sqlalchemy.orm import Session

from workflows.queries import page_of

MAX_PAGE_SIZE = 100


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A response schema `{items: [item], total, total_exact, page, page_size}` for one item schema."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Integer(required=True, metadata={"description": "matching items; a lower bound when total_exact is false"}),
            "total_exact": fields.Boolean(required=True, metadata={"description": "false when counting stopped early (very long lists)"}),
            "page": fields.Integer(required=True),
            "page_size": fields.Integer(required=True),
        },
        name=name,
    )


def paginate(session: Session, query: Select, page: int, page_size: int) -> dict[str, Any]:
    """One page of an ORM `query` and the count of all its rows (workflows' `page_of` does both)."""
    result = page_of(session, query, page, page_size, build=lambda row: row[0])
    return {"items": result.items, "total": result.total, "total_exact": result.total_exact, "page": result.page,
            "page_size": result.page_size}


def paginate_list(items: Sequence[Any], page: int, page_size: int) -> dict[str, Any]:
    """One page of a list that is small enough to hold (e.g. the latest version of each process)."""
    start = (page - 1) * page_size
    return {"items": list(items[start:start + page_size]), "total": len(items), "total_exact": True, "page": page,
            "page_size": page_size}
