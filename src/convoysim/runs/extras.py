"""Optional extras: libraries only some users need, imported where they are needed, with a message
that names the extra to install when they are missing.

Dask (`pip install 'convoysim[dask]'`) spreads work over a cluster; SALib
(`pip install 'convoysim[sobol]'`) draws Saltelli designs and estimates Sobol indices. A student
on one laptop needs neither, so neither is installed by default.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(ImportError):
    """An optional library is not installed; the message says which extra installs it."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or raise MissingExtra naming `extra` and what it is needed for."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"{purpose} needs {module.split('.')[0]}, which convoysim does not install by default: "
            f"pip install 'convoysim[{extra}]'"
        ) from None
