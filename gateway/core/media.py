"""The gateway never holds the material itself: a payload that starts like an image, a video or an
archive is refused before any adapter sees it, so no format can smuggle media into the store."""

from __future__ import annotations

from hotline_gateway.core.errors import MediaRefused

#: (offset, signature, what it is)
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"BM", "BMP image"),
    (0, b"II*\x00", "TIFF image"),
    (0, b"MM\x00*", "TIFF image"),
    (0, b"\x1aE\xdf\xa3", "Matroska/WebM video"),
    (0, b"PK\x03\x04", "ZIP archive"),
    (0, b"Rar!", "RAR archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (0, b"\x00\x00\x01\xba", "MPEG video"),
    (4, b"ftyp", "MP4/QuickTime/HEIF media"),
    (8, b"WEBP", "WebP image"),
    (8, b"AVI ", "AVI video"),
)


def refuse_media(payload: bytes) -> None:
    for offset, magic, what in _MAGIC:
        if payload[offset:offset + len(magic)] == magic:
            raise MediaRefused(f"payload is {what} data: the gateway only takes URLs, hashes and metadata")
