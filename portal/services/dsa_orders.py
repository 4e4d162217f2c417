"""The DSA Art. 15(1)(a) orders table: orders from Member States' authorities received in
a reporting period, per issuing Member State, order type and category, with the median
times to confirm receipt and to give effect, as the transparency report templates of
Implementing Regulation (EU) 2024/2835 ask.

An order is a request whose jurisdiction is an EU member state. Its type is Art. 10 (an
order to provide information) when the authority asked to preserve or disclose data,
else Art. 9 (an order to act against illegal content). Times count from receipt (the
earlier receipt staff recorded, else the filing): to ``receipt_confirmed_at`` (set when
the review begins) and to the first item given effect (Art. 9 orders only: an Art. 10
order has no effect to give). Medians are in hours, computed by the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import RequestFacts
from portal.services import report_sql
from portal.services.access import require_staff
from portal.services.actors import Actor
from portal.services.periods import Period
from workflows import territory

#: The CSV's columns, in the template's order: the period, the type of order, the
#: issuing Member State, the type of illegal content (the portal's category code), the
#: number of orders, the items they name, the median time to confirm receipt and the
#: median time to give effect (hours; empty where nothing was measured).
COLUMNS: tuple[str, ...] = (
    "period", "order_type", "member_state", "category", "orders", "items",
    "median_hours_to_confirm_receipt", "median_hours_to_give_effect",
)


@dataclass(frozen=True)
class OrdersRow:
    """One line of the table."""

    order_type: str
    member_state: str
    category: str
    orders: int
    items: int
    median_hours_to_confirm_receipt: float | None
    median_hours_to_give_effect: float | None


def orders_table(actor: Actor, period: Period) -> list[OrdersRow]:
    """The orders table of ``period``, sorted by order type, Member State and category.

    Raises:
        Forbidden: the actor is not platform staff.
    """
    require_staff(actor)
    # One narrow row per order (services/report_facts keeps its type and times).
    keys = [RequestFacts.order_type.label("k_type"),
            RequestFacts.jurisdiction.label("k_state"),
            RequestFacts.category.label("k_category")]
    in_period = (RequestFacts.received_at >= period.start,
                 RequestFacts.received_at < period.end,
                 RequestFacts.jurisdiction.in_(sorted(territory.EU_MEMBER_STATES)))
    counts = db.session.execute(
        sa.select(*keys, sa.func.count(), sa.func.sum(RequestFacts.__table__.c["items"]))
        .where(*in_period).group_by(*keys)
    ).all()
    names = ["k_type", "k_state", "k_category"]
    confirm = report_sql.percentiles(
        sa.select(*keys, RequestFacts.confirm_seconds.label("seconds")).where(*in_period),
        names, "seconds", (0.5,))
    effect = report_sql.percentiles(
        sa.select(*keys, RequestFacts.act_seconds.label("seconds")).where(*in_period),
        names, "seconds", (0.5,))
    rows = []
    for kind, state, category, orders, items in (tuple(row) for row in counts):
        key: tuple[Any, ...] = (kind, state, category)
        rows.append(OrdersRow(
            order_type=kind, member_state=state, category=str(getattr(category, "value",
                                                                          category)),
            orders=int(orders), items=int(items or 0),
            median_hours_to_confirm_receipt=report_sql.hours(confirm.get(key, [None])[0]),
            median_hours_to_give_effect=report_sql.hours(effect.get(key, [None])[0]),
        ))
    return sorted(rows, key=lambda r: (r.order_type, r.member_state, r.category))


def csv_rows(period: Period, rows: list[OrdersRow]) -> list[tuple[str, ...]]:
    """The table as CSV cells in :data:`COLUMNS` order."""
    def num(v: float | None) -> str:
        return "" if v is None else f"{v:g}"
    return [(period.label, r.order_type, r.member_state, r.category, str(r.orders),
             str(r.items), num(r.median_hours_to_confirm_receipt),
             num(r.median_hours_to_give_effect)) for r in rows]
