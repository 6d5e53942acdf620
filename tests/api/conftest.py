"""schemathesis makes one test per API operation but gives them all the same node id; pytest-xdist keeps
one test per node id, so under ``-n`` only one operation's test ran. Each gets the operation in its id."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        label = getattr(item, "operation_label", None)
        if isinstance(label, str) and not item.nodeid.endswith("]"):
            unique = f"{item.nodeid}[{label}]"
            if hasattr(item, "_id"):  # pytest 9 keeps the id structured
                from _pytest.nodeid import NodeId

                setattr(item, "_id", NodeId.parse(unique))  # noqa: B010
            else:
                setattr(item, "_nodeid", unique)  # noqa: B010
