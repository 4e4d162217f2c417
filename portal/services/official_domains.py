"""Which domains an agency may claim as its official one.

An agency's domain decides who may join it (every address on it or its subdomains) and,
through the overlap check, which agencies may register after it: a domain shared by many
organisations claimed by anyone blocks every agency under it. So a public suffix
(``com``, ``co.uk``, ``gov.uk``, ``github.io``: the Public Suffix List, vendored by the
``publicsuffixlist`` package, so nothing is fetched at run time) and a public mail
service's domain are refused.
"""

from __future__ import annotations

from functools import lru_cache

from publicsuffixlist import PublicSuffixList

from portal.services.errors import FieldError

#: Public mail services, by registrable domain: anyone can have an address there, so it
#: proves nothing about an agency. Not exhaustive; the common ones in the portal's
#: countries.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com",
    "outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk", "outlook.co.id",
    "hotmail.fr", "outlook.fr", "live.co.uk",
    "yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.co.in",
    "yahoo.co.id", "yahoo.fr", "yahoo.de", "yahoo.com.tr",
    "aol.com", "icloud.com", "me.com", "mac.com",
    "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
    "tutanota.com", "tuta.io", "tutamail.com",
    "gmx.com", "gmx.net", "gmx.de", "web.de", "mail.com", "zoho.com", "fastmail.com",
    "yandex.com", "yandex.ru", "yandex.com.tr", "mail.ru",
    "rediffmail.com", "qq.com", "163.com", "126.com",
})


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    # Parsing the vendored list takes a moment: once per process.
    return PublicSuffixList()


def refusal(domain: str) -> FieldError | None:
    """Why ``domain`` (lower case, already well-formed) cannot be an agency's official
    domain, or ``None``."""
    suffixes = _suffixes()
    if suffixes.is_public(domain):
        return FieldError("domain", f"{domain} is a public suffix, shared by many "
                                    "organisations: give the agency's own domain",
                          "public_suffix")
    registrable = suffixes.privatesuffix(domain) or domain
    if registrable in FREE_MAIL_DOMAINS:
        return FieldError("domain", f"{domain} is a public mail service, not an agency's "
                                    "own domain", "free_mail")
    return None
