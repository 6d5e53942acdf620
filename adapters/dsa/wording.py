"""The fixed words of a notice: legal references, the good-faith statement, the DSA Transparency Database
vocabulary for each category, and the hotline's standard substantiation.

Platforms file the statement of reasons for their decision under the Transparency Database's categories
and keywords, so the notice names them for the platform instead of leaving it to guess.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from hotline_gateway.core.model import Case, Category, LegalClass

NOTICE_VERSION = "1.0"
LEGAL_BASIS = "Regulation (EU) 2022/2065, Article 16"
GOOD_FAITH = ("The notifier confirms its bona fide belief that the information and allegations contained in this "
              "notice are accurate and complete.")
WITHHELD_GROUND = ("Art. 16(2)(c) DSA: offence referred to in Articles 3 to 7 of Directive 2011/93/EU; "
                   "the notifier's name and e-mail address are not given")
#: child sexual abuse and exploitation: the notifier's identity is always left out (Art. 16(2)(c))
WITHHOLD_FOR = frozenset({Category.CSAM, Category.CSEM})


class DsaCategory(NamedTuple):
    statement_category: str
    keyword: str
    #: what KEYWORD_OTHER stands for, in the Transparency Database's ``category_specification_other``
    other: str | None = None


DSA_CATEGORY = {
    Category.CSAM: DsaCategory("STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"),
    Category.CSEM: DsaCategory("STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "KEYWORD_OTHER",
                               "child sexual exploitation material"),
    Category.ADULT_MINOR_ACCESS: DsaCategory("STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                                             "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS"),
    Category.NCII: DsaCategory("STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"),
    Category.HATE: DsaCategory("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "KEYWORD_HATE_SPEECH"),
    Category.TERRORISM: DsaCategory("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", "KEYWORD_TERRORIST_CONTENT"),
    Category.PIMPING: DsaCategory("STATEMENT_CATEGORY_VIOLENCE", "KEYWORD_HUMAN_EXPLOITATION"),
    Category.CRIMES_AGAINST_HUMANITY: DsaCategory("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "KEYWORD_OTHER",
                                                  "apology of crimes against humanity"),
    Category.OTHER: DsaCategory("STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE", "KEYWORD_OTHER",
                                "illegal content outside the hotline's categories"),
}

_WHAT = {
    Category.CSAM: "child sexual abuse material",
    Category.CSEM: "child sexual exploitation material",
    Category.NCII: "intimate images shared without the consent of the person shown",
    Category.ADULT_MINOR_ACCESS: "pornography made accessible to minors",
    Category.HATE: "incitement to hatred, violence or discrimination",
    Category.TERRORISM: "terrorist content",
    Category.PIMPING: "procuring (pimping)",
    Category.CRIMES_AGAINST_HUMANITY: "apology of crimes against humanity",
    Category.OTHER: "illegal content",
}
_LEGAL = {
    LegalClass.BASELINE: "illegal in every jurisdiction (INTERPOL baseline)",
    LegalClass.NATIONAL: "illegal under national law",
    LegalClass.DOUBTFUL: "of doubtful legality",
    LegalClass.NOT_ILLEGAL: "not assessed as illegal",
}


def substantiation(case: Case) -> str:
    """Art. 16(2)(a): why the content is illegal, from the analysts' assessment, whatever the case's free text."""
    counts = Counter(item.legal_class for item in case.items)
    assessed = ", ".join(f"{counts[c]} {_LEGAL[c]}" for c in LegalClass if counts[c])
    return (f"Analysts of internet hotline {case.originator}, a trusted flagger under Article 22 of Regulation (EU) "
            f"2022/2065, assessed the content at the {len(case.items)} exact URL(s) listed in this notice as "
            f"{_WHAT[case.category]}: {assessed}. Each item carries its own assessment. Please remove the illegal "
            "content or disable access to it without undue delay.")
