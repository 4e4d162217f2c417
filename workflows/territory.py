"""Where a decision takes effect: its territorial scope, as one canonical code.

A scope is ``"global"``, or a comma-separated list of tokens: ``"EEA"`` (the European
Economic Area: the 27 EU member states, Iceland, Liechtenstein and Norway) and ISO 3166-1
alpha-2 country codes, sorted, with ``EEA`` first (``"TR"``, ``"AT,DE"``, ``"EEA,CH"``).
A list naming every EEA state is written ``EEA``, and a state the ``EEA`` already covers
is not repeated, so equal scopes have equal codes: the database can group and compare
them, and ``EEA`` appears in a scope exactly when the whole EEA is covered.

Greece is ``GR`` (ISO; the EU's own "EL" is read as ``GR``), the United Kingdom ``GB``
("UK" is read as ``GB``), as the DSA Transparency Database writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Every ISO 3166-1 alpha-2 country code (249).
ISO_COUNTRIES: frozenset[str] = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW
""".split())

#: The 27 member states of the European Union.
EU_MEMBER_STATES: frozenset[str] = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})

#: The European Economic Area: the EU and Iceland, Liechtenstein and Norway (the
#: territory of the DSA's statements of reasons and of a TCO removal order).
EEA_STATES: frozenset[str] = EU_MEMBER_STATES | {"IS", "LI", "NO"}

GLOBAL = "global"
EEA = "EEA"

#: Codes people write for a country that ISO writes otherwise.
ALIASES = {"EL": "GR", "UK": "GB"}

_SEPARATORS = re.compile(r"[\s,;]+")


class ScopeError(ValueError):
    """A scope that cannot be read; the message says why, naming the bad token."""


def parse_scope(value: str | Iterable[str]) -> str:
    """The canonical code of a scope given as text (``"de, at"``) or as a list of tokens.

    Raises:
        ScopeError: empty, an unknown code, or ``global`` together with anything else.
    """
    raw = _SEPARATORS.split(value) if isinstance(value, str) else [
        part for item in value for part in _SEPARATORS.split(str(item))]
    tokens = [t.strip().upper() for t in raw if t.strip()]
    if not tokens:
        raise ScopeError("give at least one country code, EEA or global")
    if GLOBAL.upper() in tokens or "WORLDWIDE" in tokens:
        if len(set(tokens)) > 1:
            raise ScopeError("global cannot be combined with countries or the EEA")
        return GLOBAL
    countries: set[str] = set()
    eea = False
    for token in tokens:
        if token == EEA:
            eea = True
            continue
        code = ALIASES.get(token, token)
        if code not in ISO_COUNTRIES:
            raise ScopeError(f"{token} is not an ISO 3166-1 country code")
        countries.add(code)
    if EEA_STATES <= countries:
        eea = True
    if eea:
        countries -= EEA_STATES
    return ",".join(([EEA] if eea else []) + sorted(countries))


def tokens(scope: str) -> list[str]:
    """The tokens of a canonical scope (``["EEA", "CH"]``; ``["global"]``)."""
    return scope.split(",") if scope else []


def covers_eea(scope: str | None) -> bool:
    """Whether a scope covers every EEA state (``global``, or one that names the EEA)."""
    if not scope:
        return False
    return scope == GLOBAL or EEA in tokens(scope)


def countries(scope: str) -> frozenset[str] | None:
    """The countries a scope names, the EEA spelt out; ``None`` for ``global``."""
    if scope == GLOBAL:
        return None
    found: set[str] = set()
    for token in tokens(scope):
        found |= EEA_STATES if token == EEA else {token}
    return frozenset(found)


def is_local(scope: str, jurisdiction: str) -> bool:
    """Whether a scope is the requesting country alone (what reports call local)."""
    return scope == jurisdiction.upper()
