"""A deterministic structural mutator for the documents decoders read: every node of a real document is,
in turn, replaced by a value of the wrong shape (null, a list, an object, numbers, booleans, empty and
huge strings, nested wrappers), deleted, or buried 3,000 levels deep; XML elements are deleted,
doubled, emptied, filled with junk, stripped of attributes or moved under another parent.

Deterministic rather than random so that a failure names the exact mutation and reruns the same.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import orjson
from lxml import etree

Path = tuple[str | int, ...]
DEEP = 3000
_PLACEHOLDER = "@@deep-placeholder@@"


def _walk(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _walk(sub, (*path, key))
    elif isinstance(value, list):
        for n, sub in enumerate(value):
            yield from _walk(sub, (*path, n))


def _set(doc: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


def _delete(doc: Any, path: Path) -> Any:
    target = doc
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return doc


def _replacements(value: Any) -> list[Any]:
    out: list[Any] = [None, [], {}, [value], {"x": value}, 0, -1, 2**64 - 1, 1.5, True, "", "x" * 5000]
    if isinstance(value, str):
        out += ["(" * DEEP + value + ")" * DEEP, value + "\u202e", value[: len(value) // 2]]
    return out


def json_mutations(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(label, mutated document bytes) for every node of a JSON document."""
    doc = orjson.loads(data)
    for path, value in list(_walk(doc)):
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        for n, replacement in enumerate(_replacements(value)):
            yield f"{where} <- #{n}", orjson.dumps(_set(copy.deepcopy(doc), path, replacement))
        if path:
            yield f"{where} deleted", orjson.dumps(_delete(copy.deepcopy(doc), path))
            deep = orjson.dumps(_set(copy.deepcopy(doc), path, _PLACEHOLDER))
            nest = b"[" * DEEP + orjson.dumps(value) + b"]" * DEEP
            yield f"{where} nested {DEEP} deep", deep.replace(orjson.dumps(_PLACEHOLDER), nest, 1)
            yield f"{where} nested 500 deep", deep.replace(orjson.dumps(_PLACEHOLDER),
                                                            b"[" * 500 + orjson.dumps(value) + b"]" * 500, 1)


def xml_mutations(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(label, mutated document bytes) for every element of an XML document."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    count = sum(1 for _ in root.iter(etree.Element))
    for n in range(count):
        for kind in ("delete", "double", "empty", "junk", "huge", "bare", "move", "control"):
            tree = copy.deepcopy(root)
            element = list(tree.iter(etree.Element))[n]
            parent = element.getparent()
            if kind == "delete" and parent is not None:
                parent.remove(element)
            elif kind == "double" and parent is not None:
                parent.insert(parent.index(element), copy.deepcopy(element))
            elif kind == "empty":
                element.text = None
                for child in list(element):
                    element.remove(child)
            elif kind == "junk":
                element.text = "not what belongs here ] ' \" <"
            elif kind == "huge":
                element.text = "9" * 70_000
            elif kind == "bare":
                element.attrib.clear()
            elif kind == "move" and parent is not None and parent.getparent() is not None:
                parent.getparent().append(element)
            elif kind == "control":
                element.text = "https://example.org/\u202eexe.jpg"
            else:
                continue
            yield f"element {n} ({etree.QName(element).localname}) {kind}", etree.tostring(tree, encoding="UTF-8")
