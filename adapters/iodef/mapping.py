"""Value mappings between the canonical model and IODEF 2.0 (RFC 7970), in one place for both directions.

TLP: RFC 7970 section 3.3.1 lists the TLP colours as restriction values of their own ("white: same as
'public'", "green: same as 'partner'", "amber: same as 'need-to-know'", "red: same as 'private'"). We
write the colours, which say TLP to a TLP-aware receiver and mean the same to any other, and read both
spellings. TLP 2.0's amber+strict has no IODEF value, so it travels as ``ext-value`` with
``ext-restriction``. A restriction we cannot read becomes red: never share more widely than the sender
allowed. An absent restriction is the schema's default, ``private``.

Hashes: ``ds:DigestMethod``/``ds:DigestValue`` (XML Signature algorithm URIs, base64 values); PDQ and
PhotoDNA are perceptual hashes, carried as ``FuzzyHash`` values named by ``meaning``.
"""

from __future__ import annotations

from hotline_gateway.core.model import CaseStatus, HashAlgo, Tlp

NS = "urn:ietf:params:xml:ns:iodef-2.0"
DS = "http://www.w3.org/2000/09/xmldsig#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
#: AdditionalData/@meaning of the fields IODEF has no element for; other consumers may ignore them
MEANING = "hotline-gateway:"

TLP_TO_RESTRICTION = {Tlp.CLEAR: "white", Tlp.GREEN: "green", Tlp.AMBER: "amber", Tlp.RED: "red"}
RESTRICTION_TO_TLP = {
    "white": Tlp.CLEAR, "public": Tlp.CLEAR, "green": Tlp.GREEN, "partner": Tlp.GREEN, "amber": Tlp.AMBER,
    "need-to-know": Tlp.AMBER, "red": Tlp.RED, "private": Tlp.RED, "default": Tlp.AMBER,
}
#: the XSD's default for Incident/@restriction
DEFAULT_RESTRICTION = "private"
#: what a restriction we cannot read becomes
UNREADABLE_TLP = Tlp.RED

#: Incident/@status; canonical statuses IODEF has no value for travel as ext-value with ext-status
STATUS_TO_IODEF = {CaseStatus.NEW: "new", CaseStatus.FORWARDED: "forwarded", CaseStatus.CLOSED: "resolved"}
IODEF_TO_STATUS = {"new": CaseStatus.NEW, "in-progress": CaseStatus.ASSESSED, "forwarded": CaseStatus.FORWARDED,
                   "resolved": CaseStatus.CLOSED}

DIGEST_URI = {
    HashAlgo.MD5: "http://www.w3.org/2001/04/xmldsig-more#md5",
    HashAlgo.SHA1: "http://www.w3.org/2000/09/xmldsig#sha1",
    HashAlgo.SHA256: "http://www.w3.org/2001/04/xmlenc#sha256",
}
URI_DIGEST = {uri: algo for algo, uri in DIGEST_URI.items()} | {
    "http://www.w3.org/2001/04/xmldsig-more#sha256": HashAlgo.SHA256,
}
DIGEST_BYTES = {HashAlgo.MD5: 16, HashAlgo.SHA1: 20, HashAlgo.SHA256: 32}
FUZZY = {HashAlgo.PDQ: "pdq", HashAlgo.PHOTODNA: "photodna"}
FUZZY_BY_NAME = {name: algo for algo, name in FUZZY.items()}

#: Address/@category and BulkObservable/@type values that hold URLs: RFC 7970's "site-uri", and the
#: "url" some producers write although the schema has no such value (reading it costs nothing)
URL_KINDS = frozenset({"site-uri", "url"})
#: ext-category/ext-type values others use for URLs
EXT_URL_KINDS = frozenset({"url", "uri", "site-uri"})
#: BulkObservable/@type values (and ext-type values) of domain-name lists
DOMAIN_KINDS = frozenset({"domain-name"})
EXT_DOMAIN_KINDS = frozenset({"fqdn", "domain", "domain-name", "hostname"})
#: BulkObservable/@type of hash lists
HASH_KINDS = frozenset({"file-hash"})
