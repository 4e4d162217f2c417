"""/api/v1/reports: the transparency report for platform staff's tokens."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from portal.api import auth
from portal.api.problem_docs import documenter
from portal.api.schemas import StrictSchema
from portal.models.columns import utcnow
from portal.services import transparency
from portal.services.periods import days, half_year_of

blp = auth.protect(Blueprint(
    "api_reports", __name__,
    description="The platform's transparency report (platform staff): what agencies asked "
    "for in a period and what the platform did, aggregated."))

problems = documenter(blp)

#: The longest period one call covers.
MAX_DAYS = 3660


class TransparencyQuerySchema(StrictSchema):
    start = fields.Date(metadata={"description": "first day (UTC); with `end`, or neither "
                                                 "for the current half-year"})
    end = fields.Date(metadata={"description": "last day, included"})
    group = fields.List(fields.String(validate=validate.OneOf(transparency.GROUPS)),
                        validate=validate.Length(0, len(transparency.GROUPS)),
                        metadata={"description": "repeat to group by several"})

    @ma.validates_schema
    def both_or_neither(self, data: dict[str, Any], **kwargs: Any) -> None:
        start: date | None = data.get("start")
        end: date | None = data.get("end")
        if (start is None) != (end is None):
            raise ma.ValidationError("give both start and end, or neither",
                                     "end" if end is None else "start")
        if start is not None and end is not None:
            if end < start:
                raise ma.ValidationError("end is before start", "end")
            if (end - start).days >= MAX_DAYS:
                raise ma.ValidationError(f"at most {MAX_DAYS} days at a time", "end")


class TransparencySchema(ma.Schema):
    period = fields.Dict(metadata={"description": "{label, from, to}"})
    groups = fields.List(fields.String())
    rows = fields.List(fields.Dict(), metadata={"description": "docs/API.md lists the "
                                                               "figures of each row"})
    total = fields.Dict()


@blp.route("/reports/transparency")
class Transparency(MethodView):
    @blp.arguments(TransparencyQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, TransparencySchema)
    @problems(403, 422)
    def get(self, start: date | None = None, end: date | None = None,
            group: list[str] | None = None) -> dict[str, Any]:
        """The transparency report of a period (the current half-year by default),
        grouped as asked (by country by default). Platform staff only."""
        period = days(start, end) if start and end else half_year_of(utcnow())
        groups = ["country"] if group is None else group
        return transparency.transparency_report(auth.actor(), period, groups).as_dict()
