"""Names shared by the ICCAM writer and reader, kept in one place so the two directions cannot drift."""

from __future__ import annotations

import uuid

from hotline_gateway.core.model import ContentType, Flag, HashAlgo

HASH_TYPES = {HashAlgo.MD5: "MD5", HashAlgo.SHA1: "SHA1", HashAlgo.SHA256: "SHA256", HashAlgo.PDQ: "PDQ",
              HashAlgo.PHOTODNA: "PHOTODNA"}
HASH_ALGOS = {v: k for k, v in HASH_TYPES.items()}
#: hex digests: partners may write them in upper case, canonical form is lower case
HEX_ALGOS = frozenset({HashAlgo.MD5, HashAlgo.SHA1, HashAlgo.SHA256, HashAlgo.PDQ})

#: the assessment's yes/no flags; ICCAM has none for ai_generated or self_generated
FLAGS = {Flag.VIRTUAL: "virtual", Flag.USER_GENERATED: "userGenerated", Flag.CHILD_MODELLING: "childModelling"}

#: ICCAM's coarse contentType (media or website) for each canonical content type
CONTENT_KIND = {ContentType.IMAGE: "media", ContentType.VIDEO: "media", ContentType.CONTAINER: "media",
                ContentType.OTHER: "media", ContentType.LINK: "website", ContentType.TEXT: "website"}

#: namespace of the case and item ids made from another hotline's (non-UUID) references
ID_NAMESPACE = uuid.UUID("3d0c8f7e-41a2-4f6b-9c1e-7a5b2e9d4c10")

#: how the reason of a "not illegal" action starts when it stands for a retraction (ICCAM has none)
RETRACTED_PREFIX = "retracted: "
