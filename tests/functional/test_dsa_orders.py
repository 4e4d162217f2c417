"""The DSA Art. 15(1)(a) orders table on a hand-made data set (issue 14, part 3).

German police orders received in 2026H2 (hate speech):
- O1 act (remove), 2 items, received 1 Oct 00:00, receipt confirmed 01:00, effect 05:00;
- O2 act (remove), 1 item, received 2 Oct 00:00, confirmed 03:00, effect 09:00;
- O3 information (disclose data), 1 item, received 3 Oct 00:00, confirmed 02:00;
and a Turkish request (not a Member State's): not in the table.
Art. 9: 2 orders, 3 items, median to confirm (1 h, 3 h) = 2 h, to give effect (5 h, 9 h)
= 7 h. Art. 10: 1 order, 1 item, 2 h to confirm, no effect.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.services import dsa_orders, lifecycle
from portal.services.actors import Actor
from portal.services.errors import Forbidden
from portal.services.filing import file_request
from portal.services.periods import parse_half_year
from tests.factories import World, filing, make_agency, make_user

H = timedelta(hours=1)
H2 = parse_half_year("2026H2")


def _at(day: int) -> datetime:
    return datetime(2026, 10, day, tzinfo=UTC)


@pytest.fixture
def orders(world: World) -> World:
    german = make_agency("DE")
    official = Actor.of(make_user("agency_official", german))
    reviewer = world.actor("reviewer")
    for day, action, targets, confirm, effect in (
            (1, "remove", ["@o1", "@o2"], 1, 5), (2, "remove", ["@p1"], 3, 9),
            (3, "disclose_data", ["@q1"], 2, None)):
        t = _at(day)
        req = file_request(official, filing(targets, category="hate_speech",
                                            priority="standard", requested_action=action,
                                            legal_statute="NetzDG"), now=t)
        lifecycle.fire(reviewer, req.reference, "begin_review", now=t + confirm * H)
        if effect is not None:
            world.decide_all(req.reference, "removed", now=t + effect * H)
            lifecycle.fire(reviewer, req.reference, "action", now=t + effect * H)
    world.actioned(["@tr1"], now=_at(4))
    return world


def test_orders_table(orders: World) -> None:
    rows = dsa_orders.orders_table(orders.actor("liaison"), H2)
    assert rows == [
        dsa_orders.OrdersRow("art_10", "DE", "hate_speech", 1, 1, 2.0, None),
        dsa_orders.OrdersRow("art_9", "DE", "hate_speech", 2, 3, 2.0, 7.0),
    ]
    assert dsa_orders.csv_rows(H2, rows) == [
        ("2026H2", "art_10", "DE", "hate_speech", "1", "1", "2", ""),
        ("2026H2", "art_9", "DE", "hate_speech", "2", "3", "2", "7"),
    ]
    assert dsa_orders.orders_table(orders.actor("liaison"), parse_half_year("2026H1")) == []


def test_only_staff(orders: World) -> None:
    with pytest.raises(Forbidden):
        dsa_orders.orders_table(orders.actor("official"), H2)
