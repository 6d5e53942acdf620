"""Value mappings between the canonical model and IODEF 2.0 (RFC 7970).

IODEF 2.0 has the TLP colours in ``restriction-type`` (white, green, amber, red); TLP 2.0's
amber+strict has no IODEF value, so it travels as ``ext-value`` with ``ext-restriction``. Hashes go
in ``ds:DigestMethod``/``ds:DigestValue`` (XML Signature algorithm URIs, base64 values); PDQ and
PhotoDNA are perceptual hashes, carried as ``FuzzyHash`` values named by their ``meaning``.
"""

from __future__ import annotations

from gateway.model import HashAlgo, Tlp

NS = "urn:ietf:params:xml:ns:iodef-2.0"
DS = "http://www.w3.org/2000/09/xmldsig#"
#: where our own fields go: AdditionalData/@meaning in this namespace-like prefix
MEANING = "hotline-gateway:"

TLP_TO_RESTRICTION = {Tlp.CLEAR: "white", Tlp.GREEN: "green", Tlp.AMBER: "amber", Tlp.RED: "red"}
RESTRICTION_TO_TLP = {
    "white": Tlp.CLEAR, "public": Tlp.CLEAR, "green": Tlp.GREEN, "partner": Tlp.GREEN, "amber": Tlp.AMBER,
    "need-to-know": Tlp.AMBER, "red": Tlp.RED, "private": Tlp.RED, "default": Tlp.AMBER,
}

DIGEST_URI = {
    HashAlgo.MD5: "http://www.w3.org/2001/04/xmldsig-more#md5",
    HashAlgo.SHA1: "http://www.w3.org/2000/09/xmldsig#sha1",
    HashAlgo.SHA256: "http://www.w3.org/2001/04/xmlenc#sha256",
}
URI_DIGEST = {uri: algo for algo, uri in DIGEST_URI.items()}
FUZZY = {HashAlgo.PDQ: "pdq", HashAlgo.PHOTODNA: "photodna"}
FUZZY_BY_NAME = {name: algo for algo, name in FUZZY.items()}
