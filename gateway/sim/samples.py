"""Synthetic cases for tests, demos and benchmarks: realistic in shape, invented in every detail.

Real report data cannot leave a hotline, so everything that needs volume (load tests, demos, format
round trips) runs on these instead. They are built to look like a hotline's intake: mostly CSAM with
a tail of other categories, a few items per case on hosts spread over many countries, hashes of the
right length for each algorithm, and reporters ranging from anonymous to named organisations.

Nothing in them points at the real world: URLs and e-mail addresses only use the reserved names of
RFC 2606 / RFC 6761 (``example.org``, ``example.com``, ``*.test``, ``*.invalid``), IP addresses
come from the documentation ranges of RFC 5737 and RFC 3849, AS numbers from RFC 5398, telephone
numbers from the ranges regulators keep for fiction, and names are assembled from invented parts.

Output depends only on the arguments: the same seed and ``now`` always give the same cases, byte
for byte, so a benchmark or a failing test can be replayed exactly (``now`` defaults to the start
of the current UTC day, so a seed alone is stable for a day).
"""

from __future__ import annotations

import base64
import random
import uuid
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Generic, NamedTuple, TypeVar
from urllib.parse import quote

import orjson
from msgspec.structs import replace

from hotline_gateway.core.model import (
    Action,
    ActionType,
    AgeGroup,
    Case,
    CaseStatus,
    Category,
    Commerciality,
    ContentType,
    CustodyEntry,
    CustodyEvent,
    ExternalRef,
    Flag,
    Gender,
    Hash,
    HashAlgo,
    Hosting,
    IndustryClass,
    Item,
    LegalClass,
    ObservedAs,
    Priority,
    Reporter,
    ReporterKind,
    SiteType,
    SourceChannel,
    Tlp,
    dump_case,
)

__all__ = ["WINDOW", "generate_cases", "generate_jsonl"]

T = TypeVar("T")

#: how far back generated timestamps reach from ``now``
WINDOW = timedelta(days=90)

_US = 1_000_000
_JSONL_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


class _Weighted(Generic[T]):
    """A value list with weights, drawn by bisection on precomputed cumulative weights.

    Drawing is the generator's inner loop; precomputed cumulative weights keep generation well
    above the rate the benchmarks need.
    """

    __slots__ = ("_cum", "_total", "_values")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self._values = [v for v, _ in pairs]
        self._cum = list(accumulate(w for _, w in pairs))
        self._total = self._cum[-1]

    def __call__(self, rng: random.Random) -> T:
        # What random.choices does for k=1, without building a list on every draw.
        return self._values[bisect(self._cum, rng.random() * self._total)]


# --- value lists and their weights ------------------------------------------------------------------
# Roughly a European hotline's mix: CSAM dominates, hate speech second, and every category occurs.

_CATEGORY = _Weighted(
    [
        (Category.CSAM, 40),
        (Category.CSEM, 8),
        (Category.NCII, 8),
        (Category.ADULT_MINOR_ACCESS, 8),
        (Category.HATE, 14),
        (Category.TERRORISM, 6),
        (Category.PIMPING, 5),
        (Category.CRIMES_AGAINST_HUMANITY, 4),
        (Category.OTHER, 7),
    ]
)

# Baseline is INTERPOL's CSAM notion, so only CSAM items are ever baseline.
_LEGAL: dict[Category, _Weighted[LegalClass]] = {
    Category.CSAM: _Weighted(
        [(LegalClass.BASELINE, 45), (LegalClass.NATIONAL, 35), (LegalClass.DOUBTFUL, 14), (LegalClass.NOT_ILLEGAL, 6)]
    ),
    Category.OTHER: _Weighted([(LegalClass.NATIONAL, 20), (LegalClass.DOUBTFUL, 40), (LegalClass.NOT_ILLEGAL, 40)]),
}
_LEGAL_DEFAULT = _Weighted([(LegalClass.NATIONAL, 62), (LegalClass.DOUBTFUL, 23), (LegalClass.NOT_ILLEGAL, 15)])

_CHILD = frozenset({Category.CSAM, Category.CSEM})
_SEXUAL = _CHILD | {Category.NCII, Category.ADULT_MINOR_ACCESS}
_TEXTUAL = frozenset({Category.HATE, Category.TERRORISM, Category.CRIMES_AGAINST_HUMANITY, Category.PIMPING})

_MEDIA_SEXUAL = _Weighted(
    [
        (ContentType.IMAGE, 52),
        (ContentType.VIDEO, 26),
        (ContentType.LINK, 10),
        (ContentType.CONTAINER, 6),
        (ContentType.OTHER, 3),
        (ContentType.TEXT, 1),
    ]
)
_MEDIA_TEXTUAL = _Weighted(
    [
        (ContentType.TEXT, 45),
        (ContentType.LINK, 20),
        (ContentType.VIDEO, 15),
        (ContentType.IMAGE, 15),
        (ContentType.OTHER, 5),
    ]
)
_MEDIA_OTHER = _Weighted([(t, 1.0) for t in ContentType])

_MEDIA_KINDS = frozenset({ContentType.IMAGE, ContentType.VIDEO, ContentType.CONTAINER, ContentType.OTHER})

_AGE: dict[LegalClass, _Weighted[AgeGroup]] = {
    LegalClass.BASELINE: _Weighted([(AgeGroup.PRE_PUBESCENT, 88), (AgeGroup.INFANT, 12)]),
    LegalClass.NATIONAL: _Weighted(
        [(AgeGroup.PUBESCENT, 60), (AgeGroup.PRE_PUBESCENT, 28), (AgeGroup.NOT_DETERMINED, 12)]
    ),
    LegalClass.DOUBTFUL: _Weighted([(AgeGroup.PUBESCENT, 50), (AgeGroup.NOT_DETERMINED, 50)]),
}
_GENDER = _Weighted([(Gender.FEMALE, 50), (Gender.MALE, 25), (Gender.BOTH, 10), (Gender.UNDETERMINED, 15)])

_FLAGS: dict[Category, list[Flag]] = {
    Category.CSAM: list(Flag),
    Category.CSEM: list(Flag),
    Category.NCII: [Flag.SELF_GENERATED, Flag.USER_GENERATED, Flag.AI_GENERATED],
}
_FLAGS_DEFAULT = [Flag.USER_GENERATED, Flag.AI_GENERATED]

_SITE_TYPE = _Weighted(
    [
        (SiteType.IMAGEHOST, 16),
        (SiteType.FILEHOST, 12),
        (SiteType.WEBSITE, 14),
        (SiteType.FORUM, 9),
        (SiteType.IMAGEBOARD, 7),
        (SiteType.SOCIALSITE, 9),
        (SiteType.BLOG, 6),
        (SiteType.WEBPAGE, 6),
        (SiteType.IMAGESTORE, 5),
        (SiteType.LINKSITE, 4),
        (SiteType.REDIRECTOR, 3),
        (SiteType.BANNERSITE, 3),
        (SiteType.WEBARCHIVED, 3),
        (SiteType.SEARCHPROVIDER, 3),
    ]
)
_COMMERCIALITY = _Weighted(
    [(Commerciality.NON_COMMERCIAL, 55), (Commerciality.COMMERCIAL, 20), (Commerciality.NOT_DETERMINED, 25)]
)
_PAYMENT_METHODS = [
    "credit_card",
    "bitcoin",
    "monero",
    "ethereum",
    "bank_transfer",
    "gift_card",
    "prepaid_card",
    "mobile_payment",
    "voucher",
]

_STATUS = _Weighted(
    [
        (CaseStatus.NEW, 15),
        (CaseStatus.ASSESSED, 20),
        (CaseStatus.FORWARDED, 25),
        (CaseStatus.ACTIONED, 20),
        (CaseStatus.CLOSED, 15),
        (CaseStatus.RETRACTED, 5),
    ]
)
_ACTED_ON = frozenset({CaseStatus.FORWARDED, CaseStatus.ACTIONED, CaseStatus.CLOSED, CaseStatus.RETRACTED})
_OUTCOME = _Weighted([(ActionType.CONTENT_REMOVED, 60), (ActionType.CONTENT_UNAVAILABLE, 25), (ActionType.MOVED, 15)])

# A report exchanged for action is TLP:AMBER: the receiving hotline must pass it on to its police and to the
# host, which AMBER+STRICT (its own organisation only) and RED (named people only) forbid. Those two stay
# rare, for cases held back on purpose; they are above a partner's default ceiling (amber) and route nowhere.
_TLP_CHILD = _Weighted([(Tlp.RED, 3), (Tlp.AMBER_STRICT, 7), (Tlp.AMBER, 82), (Tlp.GREEN, 8)])
_TLP_OTHER = _Weighted([(Tlp.CLEAR, 10), (Tlp.GREEN, 35), (Tlp.AMBER, 48), (Tlp.AMBER_STRICT, 5), (Tlp.RED, 2)])
_PRIORITY_URGENT = _Weighted([(Priority.URGENT, 40), (Priority.HIGH, 50), (Priority.NORMAL, 10)])
_PRIORITY_ROUTINE = _Weighted([(Priority.LOW, 30), (Priority.NORMAL, 55), (Priority.HIGH, 15)])

_CHANNEL = _Weighted(
    [
        (SourceChannel.WEB_FORM, 36),
        (SourceChannel.EMAIL, 9),
        (SourceChannel.APP, 8),
        (SourceChannel.PHONE, 3),
        (SourceChannel.PARTNER_HOTLINE, 12),
        (SourceChannel.ICCAM, 14),
        (SourceChannel.LAW_ENFORCEMENT, 4),
        (SourceChannel.INDUSTRY, 6),
        (SourceChannel.PROACTIVE_SEARCH, 5),
        (SourceChannel.OTHER, 3),
    ]
)
_K = ReporterKind
_REPORTER_KIND: dict[SourceChannel, _Weighted[ReporterKind]] = {
    SourceChannel.WEB_FORM: _Weighted([(_K.ANONYMOUS, 60), (_K.PSEUDONYMOUS, 15), (_K.PERSON, 25)]),
    SourceChannel.EMAIL: _Weighted([(_K.PERSON, 60), (_K.ORGANISATION, 25), (_K.PSEUDONYMOUS, 15)]),
    SourceChannel.APP: _Weighted([(_K.ANONYMOUS, 50), (_K.PSEUDONYMOUS, 40), (_K.PERSON, 10)]),
    SourceChannel.PHONE: _Weighted([(_K.PERSON, 70), (_K.ANONYMOUS, 30)]),
    # A partner forwards its own reporter only where its policy allows; often it keeps them back.
    SourceChannel.PARTNER_HOTLINE: _Weighted([(_K.ORGANISATION, 50), (_K.WITHHELD, 35), (_K.ANONYMOUS, 15)]),
    SourceChannel.ICCAM: _Weighted([(_K.ORGANISATION, 45), (_K.WITHHELD, 45), (_K.ANONYMOUS, 10)]),
    SourceChannel.LAW_ENFORCEMENT: _Weighted([(_K.ORGANISATION, 100)]),
    SourceChannel.INDUSTRY: _Weighted([(_K.ORGANISATION, 100)]),
    SourceChannel.PROACTIVE_SEARCH: _Weighted([(_K.ORGANISATION, 50), (_K.PSEUDONYMOUS, 50)]),
    SourceChannel.OTHER: _Weighted([(k, 1.0) for k in ReporterKind]),
}

# Hosting countries: the big hosting markets often, and a long tail (at least 30 codes in all).
_COUNTRY = _Weighted(
    [
        ("US", 18),
        ("NL", 12),
        ("DE", 7),
        ("FR", 6),
        ("RU", 6),
        ("GB", 4),
        ("CA", 3),
        ("RO", 3),
        ("HK", 3),
        ("UA", 2),
        ("BG", 2),
        ("JP", 2),
        ("SG", 2),
        ("LU", 2),
        ("SE", 2),
        ("PL", 2),
        ("CH", 2),
        ("ES", 2),
        ("IT", 2),
        ("BR", 2),
        ("CZ", 1.5),
        ("LT", 1.5),
        ("TR", 1.5),
        ("IN", 1.5),
        ("LV", 1),
        ("SC", 1),
        ("PA", 1),
        ("VG", 1),
        ("IS", 1),
        ("MD", 1),
        ("KR", 1),
        ("AU", 1),
        ("FI", 1),
        ("AT", 1),
        ("BE", 1),
        ("IE", 1),
        ("PT", 1),
        ("EE", 1),
        ("MY", 1),
        ("VN", 1),
        ("CN", 1),
        ("ZA", 0.5),
        ("TH", 0.5),
        ("KZ", 0.5),
    ]
)
#: partner hotlines that forward cases to us (invented identifiers in the PartyId shape)
_PARTNERS = ["NL-EOKM", "DE-ECO", "US-CYBERTIP", "GB-IWF", "AT-SHL", "BE-CHILDFOCUS", "ES-INCIBE", "PL-DYZURNET"]

# --- invented names -----------------------------------------------------------------------------------

_HOST_WORDS = [
    "amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel",
    "lumen", "meadow", "nimbus", "onyx", "pixel", "quartz", "raven", "sable", "tundra", "umber", "vortex",
    "willow", "xenon", "yarrow", "zephyr",
]  # fmt: skip
_HOST_NOUNS = [
    "pics", "img", "share", "vault", "box", "hub", "board", "zone", "cloud", "drop", "tube", "space", "lounge",
    "chan", "talk", "blog", "files", "media", "stream", "gallery", "links", "forum",
]  # fmt: skip
_SYLLABLES = ["vel", "ora", "nix", "tam", "quo", "bri", "zen", "kal", "dor", "fen", "lux", "mar", "sor", "tri", "vik"]
_ORG_KINDS = ["Hosting", "Networks", "Cloud", "Datacenter", "Telecom", "Digital", "Servers", "Internet"]
_ORG_SUFFIXES = ["Ltd", "B.V.", "GmbH", "S.A.", "SRL", "LLC", "AB", "Sp. z o.o.", "OÜ", "s.r.o.", "Inc."]
_SLUGS = [
    "photos", "new", "summer", "album", "collection", "set", "upload", "private", "vip", "archive", "week",
    "random", "share", "thread", "post", "video", "clip", "party", "beach", "holiday",
]  # fmt: skip
#: non-ASCII path segments, percent-encoded as a browser would send them
_UNICODE_SLUGS = [quote(s) for s in ["été-2024", "größe", "фото", "álbum", "zdjęcia", "写真", "Ἀθῆναι", "çocuk-değil"]]
_EXTENSIONS: dict[ContentType, list[str]] = {
    ContentType.IMAGE: ["jpg", "jpeg", "png", "webp", "gif", "JPG"],
    ContentType.VIDEO: ["mp4", "webm", "mkv", "avi", "mov"],
    ContentType.CONTAINER: ["zip", "rar", "7z", "tar.gz"],
    ContentType.OTHER: ["pdf", "bin", "dat", "html"],
}
_FILE_STEMS: dict[ContentType, list[str]] = {
    ContentType.IMAGE: ["IMG_", "DSC", "photo_", "img", "Screenshot_", "scan", "été_", "фото_"],
    ContentType.VIDEO: ["vid_", "VID_", "clip-", "movie_", "rec_"],
    ContentType.CONTAINER: ["archive_", "pack-", "set_", "backup_"],
    ContentType.OTHER: ["file_", "doc_", "data_"],
}

_FIRST = [
    ("Zoë", "zoe"), ("Łukasz", "lukasz"), ("José", "jose"), ("Søren", "soren"), ("Aoife", "aoife"),
    ("Mathilde", "mathilde"), ("Ngozi", "ngozi"), ("Jürgen", "juergen"), ("Inès", "ines"), ("Kofi", "kofi"),
    ("Mei", "mei"), ("Dmitri", "dmitri"), ("Anaïs", "anais"), ("Tomás", "tomas"), ("Ewa", "ewa"),
    ("Hamid", "hamid"), ("Sanna", "sanna"), ("Ioana", "ioana"), ("Pieter", "pieter"), ("Chloé", "chloe"),
]  # fmt: skip
_LAST = [
    ("Exampleton", "exampleton"), ("Mustermann", "mustermann"), ("Dupont-Fictif", "dupont-fictif"),
    ("Placeholder", "placeholder"), ("Testová", "testova"), ("Nowak-Próba", "nowak-proba"),
    ("Ejemplo", "ejemplo"), ("Voorbeeld", "voorbeeld"), ("Esempio", "esempio"), ("Exemplaire", "exemplaire"),
    ("Примеров", "primerov"), ("Δοκιμή", "dokimi"), ("山田", "yamada"), ("Sample", "sample"),
]  # fmt: skip
_EMAIL_DOMAINS = ["example.org", "example.com", "mail.example.org", "post.invalid", "inbox.test"]
_ORG_REPORTERS = [
    ("Example Trust & Safety Team", "trust-safety@example.com"),
    ("Hotline Exemple (partenaire)", "reports@hotline.example.org"),
    ("Example Police Cyber Unit", "cyber-unit@police.invalid"),
    ("Fictional Child Protection NGO", "alerts@ngo.example.org"),
    ("Exampleshare Abuse Desk", "abuse@exampleshare.test"),
    ("Musterstelle Jugendschutz", "meldung@jugendschutz.example.org"),
    ("Associação Exemplo", "denuncias@associacao.invalid"),
]
_ANALYSTS = ["analyst-01", "analyst-02", "analyst-07", "analyst-12", "a.martin", "j.dupont-fictif", "ops-night"]

_EXPLANATIONS: dict[Category, list[str]] = {
    Category.CSAM: [
        "Gallery reported through the web form; several images appear to show young children.",
        "Galerie signalée via le formulaire : plusieurs images semblent représenter des mineurs.",
        "Repeat upload of material already classified as baseline under another reference.",
        "Link list on a forum thread pointing to archives on a file host.",
    ],
    Category.CSEM: [
        "Posing series of an apparently pubescent minor; not sexually explicit but exploitative.",
        "Profil présentant des photos de mineurs accompagnées de commentaires sexualisés.",
    ],
    Category.NCII: [
        "Reporter states the intimate images were published without consent by a former partner.",
        "Die meldende Person gibt an, dass die Aufnahmen ohne Einwilligung veröffentlicht wurden.",
    ],
    Category.ADULT_MINOR_ACCESS: [
        "Adult site without any age verification, reachable by minors.",
        "Site pornographique accessible sans contrôle d'âge.",
    ],
    Category.HATE: [
        "Posts inciting hatred against a group on grounds of origin — screenshots kept in the evidence store.",
        "Messages appelant à la violence contre une communauté ; captures conservées.",
    ],
    Category.TERRORISM: [
        "Video glorifying an attack, re-uploaded under several names.",
        "Publication faisant l'apologie d'un acte terroriste.",
    ],
    Category.PIMPING: [
        "Classified ads offering paid sexual services of third parties.",
        "Annonces d'escort suggérant un réseau de proxénétisme.",
    ],
    Category.CRIMES_AGAINST_HUMANITY: [
        "Page denying a recognised genocide and praising its perpetrators.",
        "Article niant un crime contre l'humanité reconnu.",
    ],
    Category.OTHER: [
        "Reporter unsure of the category; content to be reviewed by an analyst.",
        "Spam page with links of unclear nature.",
    ],
}
_REASONS: dict[ActionType, list[str]] = {
    ActionType.NOT_ILLEGAL: ["Adult content, no indication of a minor.", "Lawful under the hosting country's law."],
    ActionType.MOVED: ["Content moved to another host; follow-up case opened."],
    ActionType.CONTENT_UNAVAILABLE: ["URL returns 404 on re-check.", "Host unreachable on three attempts."],
}

_ITEM_COUNT = _Weighted([(n, 1.0 / n**1.5) for n in range(1, 21)])

_V4_NETS = ["192.0.2.", "198.51.100.", "203.0.113."]
_ASN_RANGES = [(64496, 64511), (65536, 65551)]


class _Media(NamedTuple):
    """A file assessed before: what a repeat sighting inherits."""

    hashes: tuple[tuple[HashAlgo, str], ...]
    media: ContentType
    legal_class: LegalClass
    file_name: str | None
    age_group: AgeGroup | None
    industry_class: IndustryClass | None
    gender: Gender | None


#: assessed files kept per category for repeats (bounded, so memory stays flat for any count)
_SEEN_MAX = 256


@dataclass(slots=True)
class _Site:
    """One host that several items of a case live on, so that they share hosting and site details."""

    host: str
    scheme: str
    hosting: Hosting | None
    site_type: SiteType | None
    commerciality: Commerciality | None
    payment_methods: list[str]
    assigned_country: str | None


class _Generator:
    """Draws one case after another from a single seeded ``random.Random``."""

    def __init__(self, rng: random.Random, originator: str, now: datetime) -> None:
        self.rng = rng
        self.originator = originator
        self.now = now
        # Media seen before, per category, so that repeat media (same hashes) recur across cases
        # and inherit their earlier classification, as in the INHOPE network.
        self.seen: dict[Category, list[_Media]] = {}

    # --- small pieces ---

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def token(self, low: int = 6, high: int = 12) -> str:
        return "".join(self.rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=self.rng.randint(low, high)))

    def host(self) -> str:
        r = self.rng
        a, b, n = r.choice(_HOST_WORDS), r.choice(_HOST_NOUNS), r.randint(1, 99)
        match r.randrange(7):
            case 0:
                return f"{a}{b}.example.org"
            case 1:
                return f"{a}-{b}.test"
            case 2:
                return f"{b}{n}.{a}.invalid"
            case 3:
                return r.choice(["example.com", "www.example.com", "example.org", "www.example.org"])
            case 4:
                return f"{b}.example.com"
            case 5:
                return f"{b}{n}.{a}.test"
            case _:
                return f"{a}{b}{n}.invalid"

    def ip(self) -> str:
        r = self.rng
        if r.random() < 0.85:
            return f"{r.choice(_V4_NETS)}{r.randint(1, 254)}"
        # RFC 5952 form: the run of zero groups compressed, hex in lower case.
        return f"2001:db8:{r.randrange(1, 0x10000):x}:{r.randrange(1, 0x10000):x}::{r.randrange(1, 0x10000):x}"

    def asn(self) -> int:
        low, high = self.rng.choice(_ASN_RANGES)
        return self.rng.randint(low, high)

    def org_name(self) -> str:
        r = self.rng
        word = "".join(r.choices(_SYLLABLES, k=r.randint(2, 3))).capitalize()
        return f"{word} {r.choice(_ORG_KINDS)} {r.choice(_ORG_SUFFIXES)}"

    def hosting(self) -> Hosting | None:
        r = self.rng
        roll = r.random()
        if roll < 0.05:
            return None  # not traced yet
        org = self.org_name()
        is_cdn = r.random() < 0.1
        if roll < 0.10:
            # traced to an address only: no hosting country known
            return Hosting(ip=self.ip(), asn=self.asn() if r.random() < 0.5 else None)
        return Hosting(
            ip=self.ip(),
            asn=self.asn() if r.random() < 0.9 else None,
            organisation=org if r.random() < 0.85 else None,
            isp=(org if r.random() < 0.5 else self.org_name()) if r.random() < 0.6 else None,
            country="US" if is_cdn and r.random() < 0.6 else _COUNTRY(r),
            is_cdn=is_cdn if r.random() < 0.7 or is_cdn else None,
        )

    def site(self, category: Category) -> _Site:
        r = self.rng
        site_type = _SITE_TYPE(r) if r.random() < 0.8 else None
        commerciality = _COMMERCIALITY(r) if r.random() < 0.7 else None
        payments: list[str] = []
        if commerciality is Commerciality.COMMERCIAL and (category in _SEXUAL or r.random() < 0.3):
            payments = r.sample(_PAYMENT_METHODS, r.randint(1, 3)) if r.random() < 0.75 else []
        scheme = "https" if r.random() < 0.85 else ("ftp" if r.random() < 0.1 else "http")
        hosting = self.hosting()
        assigned = None
        if hosting is not None and hosting.is_cdn and r.random() < 0.5:
            assigned = _COUNTRY(r)  # an analyst traced the origin server behind the CDN
        return _Site(self.host(), scheme, hosting, site_type, commerciality, payments, assigned)

    def file_name(self, media: ContentType) -> str:
        r = self.rng
        ext = r.choice(_EXTENSIONS.get(media, ["bin"]))
        if r.random() < 0.15:
            return f"{r.choice(_SLUGS)} ({r.randint(1, 40)}).{ext}"
        return f"{r.choice(_FILE_STEMS.get(media, ['file_']))}{r.randint(1, 99999):04d}.{ext}"

    def path(self, site: _Site, media: ContentType | None, file_name: str | None) -> str:
        r = self.rng
        name = quote(file_name) if file_name else f"{self.token()}.html"
        slug = r.choice(_UNICODE_SLUGS) if r.random() < 0.05 else r.choice(_SLUGS)
        match site.site_type:
            case SiteType.IMAGEHOST | SiteType.IMAGESTORE:
                return f"/i/{self.token()}/{name}"
            case SiteType.FILEHOST:
                return f"/f/{self.token(8, 16)}/{name}"
            case SiteType.IMAGEBOARD:
                return f"/{r.choice('bdhsv')}/res/{r.randint(1000, 999999)}.html#p{r.randint(1000, 999999)}"
            case SiteType.FORUM:
                return f"/viewtopic.php?t={r.randint(1, 99999)}&p={r.randint(1, 999999)}"
            case SiteType.BLOG:
                return f"/{r.randint(2019, 2025)}/{r.randint(1, 12):02d}/{slug}-{r.randint(1, 99)}/"
            case SiteType.SOCIALSITE:
                return f"/u/{self.token(4, 10)}/status/{r.getrandbits(60)}"
            case SiteType.REDIRECTOR:
                return f"/r/{self.token(5, 8)}"
            case SiteType.SEARCHPROVIDER:
                return f"/search?q={slug}+{self.token(3, 6)}&page={r.randint(1, 9)}"
            case SiteType.BANNERSITE:
                return f"/banner/{r.randint(1, 9999)}.gif"
            case SiteType.LINKSITE:
                return f"/links/{slug}/{r.randint(1, 500)}"
            case SiteType.WEBARCHIVED:
                stamp = f"{r.randint(2015, 2025)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}000000"
                return f"/web/{stamp}/http://{self.host()}/{slug}/"
            case _:
                if media in _MEDIA_KINDS and file_name:
                    return f"/{slug}/{name}"
                return f"/{slug}/{self.token(4, 10)}.html" if r.random() < 0.7 else f"/{slug}/?id={r.randint(1, 99999)}"

    def url(self, site: _Site, media: ContentType | None, file_name: str | None) -> str:
        return f"{site.scheme}://{site.host}{self.path(site, media, file_name)}"

    def referrer(self) -> str:
        r = self.rng
        host = self.host()
        if r.random() < 0.5:
            return f"https://{host}/search?q={r.choice(_SLUGS)}"
        return f"https://{host}/thread/{r.randint(1, 99999)}"

    def hashes(self, media: ContentType) -> list[Hash]:
        r = self.rng
        out: list[Hash] = []
        if r.random() < 0.8:
            out.append(Hash(HashAlgo.MD5, f"{r.getrandbits(128):032x}"))
        if r.random() < 0.35:
            out.append(Hash(HashAlgo.SHA1, f"{r.getrandbits(160):040x}"))
        if r.random() < 0.6:
            out.append(Hash(HashAlgo.SHA256, f"{r.getrandbits(256):064x}"))
        if media is ContentType.IMAGE:
            if r.random() < 0.4:
                out.append(Hash(HashAlgo.PDQ, f"{r.getrandbits(256):064x}"))
            if r.random() < 0.3:
                out.append(Hash(HashAlgo.PHOTODNA, base64.b64encode(r.randbytes(144)).decode("ascii")))
        if not out:
            out.append(Hash(HashAlgo.SHA256, f"{r.getrandbits(256):064x}"))
        return out

    def moment(self, after: datetime, seconds_only: bool) -> datetime:
        """A time strictly between ``after`` and ``now``, skewed towards ``after``."""
        span = int((self.now - after).total_seconds())
        if span <= 2:
            return after
        offset = int(span * self.rng.random() ** 2)
        offset = max(1, min(offset, span - 1))
        if seconds_only:
            return after + timedelta(seconds=offset)
        return after + timedelta(seconds=offset, microseconds=self.rng.randrange(_US))

    # --- items ---

    def classify(self, category: Category, media: ContentType | None, item: Item) -> None:
        """Fill in the assessment so that it agrees with the category and legal class."""
        r = self.rng
        legal = item.legal_class
        if category in _CHILD and legal in _AGE:
            age = _AGE[legal](r) if r.random() < 0.85 else None
            item.age_group = age
            if (
                age in (AgeGroup.INFANT, AgeGroup.PRE_PUBESCENT, AgeGroup.PUBESCENT)
                and media in (ContentType.IMAGE, ContentType.VIDEO)
                and r.random() < 0.7
            ):
                letter = "B" if age is AgeGroup.PUBESCENT else "A"
                digit = "1" if category is Category.CSAM and r.random() < 0.6 else "2"
                item.industry_class = IndustryClass(letter + digit)
        if category in _SEXUAL and legal is not LegalClass.NOT_ILLEGAL and r.random() < 0.8:
            item.gender = _GENDER(r)
        if r.random() < 0.22:
            pool = _FLAGS.get(category, _FLAGS_DEFAULT)
            item.flags = r.sample(pool, 1 if r.random() < 0.75 else 2)

    def actions(self, item: Item, received: datetime, seconds_only: bool) -> list[Action]:
        r = self.rng
        if item.legal_class is LegalClass.NOT_ILLEGAL:
            types = [ActionType.NOT_ILLEGAL]
        elif item.legal_class is LegalClass.DOUBTFUL and r.random() < 0.7:
            return []
        else:
            types = [ActionType.SENT_TO_LEA, ActionType.SENT_TO_ISP][: r.randint(1, 2)]
            if r.random() < 0.6:
                types.append(_OUTCOME(r))
        out: list[Action] = []
        at = received
        for kind in types:
            at = self.moment(at, seconds_only)
            reason = r.choice(_REASONS[kind]) if kind in _REASONS and r.random() < 0.6 else None
            by = r.choice(_ANALYSTS) if r.random() < 0.7 else None
            if kind is ActionType.MOVED and by is None and reason is None:
                # now and then an item was taken back by its originator (drawn from the same numbers, so
                # every other generated value stays as it was)
                kind, reason = ActionType.RETRACTED, "wrong_url: the address was mistyped"
            out.append(Action(type=kind, at=at, by=by, reason=reason))
        return out

    def item(self, category: Category, site: _Site, index: int, case_bits: tuple[bool, bool]) -> Item:
        r = self.rng
        media_pick = _MEDIA_SEXUAL if category in _SEXUAL else _MEDIA_TEXTUAL if category in _TEXTUAL else _MEDIA_OTHER
        media = media_pick(r)
        legal = _LEGAL.get(category, _LEGAL_DEFAULT)(r)
        hashes: list[Hash] = []
        file_name: str | None = None
        seen = self.seen.setdefault(category, [])
        known = r.choice(seen) if media in _MEDIA_KINDS and seen and r.random() < 0.1 else None
        if known is not None:
            # Repeat media: the same file, recognised by its hashes, keeps its earlier assessment.
            media, legal, file_name = known.media, known.legal_class, known.file_name
            hashes = [Hash(algo, value) for algo, value in known.hashes]
        elif media in _MEDIA_KINDS:
            hashes = self.hashes(media) if r.random() < 0.85 else []
            file_name = self.file_name(media) if r.random() < 0.7 else None
        with_source_flag, with_media_type = case_bits
        item = Item(
            item_id=self.new_id(),
            url=self.url(site, media, file_name),
            legal_class=legal,
            is_source_url=(index == 0) if with_source_flag else None,
            referrer=self.referrer() if r.random() < 0.25 else None,
            media_type=media if with_media_type else None,
            hashes=hashes,
            file_name=file_name,
            # A copy, not a shared reference: a consumer that edits one item must not change another.
            hosting=replace(site.hosting) if site.hosting else None,
            assigned_country=site.assigned_country,
            site_type=site.site_type,
            commerciality=site.commerciality,
            payment_methods=list(site.payment_methods),
        )
        # About one item in ten says where a partner's document placed it (as IODEF decoding records); taken from
        # the id, not the random stream, so every other value stays what it was for a given seed.
        if item.item_id.int % 10 == 0:
            item.observed_as = list(ObservedAs)[item.item_id.int // 10 % len(ObservedAs)]
        if known is not None:
            item.age_group, item.industry_class, item.gender = known.age_group, known.industry_class, known.gender
        else:
            self.classify(category, media, item)
            if hashes:
                self.remember(seen, item, media)
        return item

    def remember(self, seen: list[_Media], item: Item, media: ContentType) -> None:
        """Keep an assessed file for repeats; values only, so that edits to yielded cases cannot leak back."""
        entry = _Media(
            hashes=tuple((h.algo, h.value) for h in item.hashes),
            media=media,
            legal_class=item.legal_class,
            file_name=item.file_name,
            age_group=item.age_group,
            industry_class=item.industry_class,
            gender=item.gender,
        )
        if len(seen) >= _SEEN_MAX:
            seen[self.rng.randrange(_SEEN_MAX)] = entry
        else:
            seen.append(entry)

    # --- reporters, references, custody ---

    def reporter(self, channel: SourceChannel) -> Reporter:
        r = self.rng
        kind = _REPORTER_KIND[channel](r)
        match kind:
            case ReporterKind.PSEUDONYMOUS:
                return Reporter(kind, ref=r.choice(["rep-", "app-user-", "anon-", "analyst-"]) + self.token(4, 10))
            case ReporterKind.ORGANISATION:
                name, email = r.choice(_ORG_REPORTERS)
                return Reporter(kind, name=name, email=email if r.random() < 0.85 else None)
            case ReporterKind.PERSON:
                (first, first_a), (last, last_a) = r.choice(_FIRST), r.choice(_LAST)
                email = f"{first_a}.{last_a}{r.randint(1, 99)}@{r.choice(_EMAIL_DOMAINS)}"
                return Reporter(
                    kind,
                    name=f"{first} {last}",
                    email=email if r.random() < 0.8 else None,
                    phone=self.phone() if r.random() < 0.4 else None,
                )
            case _:
                return Reporter(kind)

    def phone(self) -> str:
        """Numbers from ranges reserved for fiction (Ofcom drama numbers, ARCEP 01 99 00, NANP 555-01xx)."""
        r = self.rng
        match r.randrange(3):
            case 0:
                return f"+44 20 7946 0{r.randint(0, 999):03d}"
            case 1:
                return f"+33 1 99 00 {r.randint(0, 99):02d} {r.randint(0, 99):02d}"
            case _:
                return f"+1 (555) 01{r.randint(0, 99):02d}"

    def external_refs(self, channel: SourceChannel, received: datetime) -> list[ExternalRef]:
        r = self.rng
        refs: list[ExternalRef] = []
        if channel is SourceChannel.ICCAM:
            refs.append(ExternalRef("iccam", f"{r.randint(1_000_000, 9_999_999)}"))
        if channel is SourceChannel.PARTNER_HOTLINE:
            refs.append(ExternalRef(r.choice(_PARTNERS), f"{received.year}-{r.randint(1, 999999):06d}"))
        if channel is SourceChannel.INDUSTRY and r.random() < 0.6:
            refs.append(ExternalRef("ncmec", str(r.randint(100_000_000, 299_999_999))))
        if r.random() < 0.5:
            prefix = self.originator.split("-")[-1].upper()
            refs.append(ExternalRef(self.originator, f"{prefix}-{received.year}-{r.randint(1, 99999):05d}"))
        return refs

    def custody(self, status: CaseStatus, received: datetime, seconds_only: bool) -> list[CustodyEntry]:
        r = self.rng
        events = [CustodyEvent.RECEIVED]
        if status is not CaseStatus.NEW:
            events.append(CustodyEvent.ASSESSED)
        if status in _ACTED_ON:
            events.append(CustodyEvent.FORWARDED)
        if status in (CaseStatus.ACTIONED, CaseStatus.CLOSED) and r.random() < 0.5:
            events.append(CustodyEvent.UPDATED)
        if status is CaseStatus.RETRACTED:
            events.append(CustodyEvent.RETRACTED)
        out = [CustodyEntry(at=received, by=self.originator, event=CustodyEvent.RECEIVED)]
        at = received
        for event in events[1:]:
            at = self.moment(at, seconds_only)
            note = "duplicate of an earlier report" if event is CustodyEvent.RETRACTED else None
            out.append(CustodyEntry(at=at, by=self.originator, event=event, note=note))
        return out

    # --- a whole case ---

    def case(self) -> Case:
        r = self.rng
        seconds_only = r.random() < 0.5
        window_us = int(WINDOW.total_seconds()) * _US
        # Keep a minute's margin at both ends so that rounding to seconds stays inside the window.
        received_us = r.randrange(60 * _US, window_us - 3600 * _US)
        received = self.now - timedelta(microseconds=received_us)
        if seconds_only:
            received = received.replace(microsecond=0)
        incident = None
        if r.random() < 0.5:
            room_us = window_us - received_us - 60 * _US
            incident = received - timedelta(microseconds=r.randrange(_US, room_us))
            if seconds_only:
                incident = incident.replace(microsecond=0)

        category = _CATEGORY(r)
        channel = _CHANNEL(r)
        status = _STATUS(r)
        sites = [self.site(category) for _ in range(1 if r.random() < 0.7 else r.randint(2, 3))]
        case_bits = (r.random() < 0.6, r.random() < 0.95)
        items: list[Item] = []
        for index in range(_ITEM_COUNT(r)):
            item = self.item(category, sites[0] if index == 0 else r.choice(sites), index, case_bits)
            if status in _ACTED_ON and r.random() < 0.6:
                item.actions = self.actions(item, received, seconds_only)
            items.append(item)

        urgent = any(i.legal_class is LegalClass.BASELINE for i in items)
        return Case(
            case_id=self.new_id(),
            received_at=received,
            source_channel=channel,
            reporter=self.reporter(channel),
            originator=self.originator,
            category=category,
            tlp=(_TLP_CHILD if category in _CHILD else _TLP_OTHER)(r),
            priority=(_PRIORITY_URGENT if urgent else _PRIORITY_ROUTINE)(r),
            status=status,
            items=items,
            external_refs=self.external_refs(channel, received),
            incident_at=incident,
            explanation=r.choice(_EXPLANATIONS[category]) if r.random() < 0.6 else None,
            custody=self.custody(status, received, seconds_only) if r.random() < 0.4 else [],
        )


def _reference_now(now: datetime | None) -> datetime:
    """``now`` in UTC; by default the start of the current UTC day.

    Using the start of the day rather than the current instant keeps a seed's output identical for
    every run on the same day, while the timestamps stay recent enough for retention windows.
    """
    if now is None:
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)


def generate_cases(
    count: int, *, seed: int | None = None, originator: str = "FR-PDC", now: datetime | None = None
) -> Iterator[Case]:
    """Yield ``count`` synthetic, schema-valid cases; the same arguments always give the same cases.

    ``seed=None`` draws a fresh seed from the operating system. ``originator`` must be a PartyId
    (it appears as the case originator and in custody entries). Timestamps fall within
    :data:`WINDOW` before ``now`` (see :func:`_reference_now` for the default).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    # Reproducibility is the point here, not unpredictability: nothing secret is drawn from this.
    generator = _Generator(random.Random(seed), originator, _reference_now(now))  # noqa: S311
    for _ in range(count):
        yield generator.case()


def generate_jsonl(
    count: int, seed: int | None = None, *, originator: str = "FR-PDC", now: datetime | None = None
) -> Iterator[bytes]:
    """Yield one canonical JSON line per case (sorted keys, ``\\n``-terminated), ready to write out."""
    for case in generate_cases(count, seed=seed, originator=originator, now=now):
        yield orjson.dumps(dump_case(case), option=_JSONL_OPTIONS)
