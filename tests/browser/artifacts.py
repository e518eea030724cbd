"""Screenshots the browser tests keep: as artifacts, and for the docs on request.

Artifacts go to artifacts/screenshots/ (or $WSAUDIO_ARTIFACTS/screenshots/).
WSAUDIO_UPDATE_DOCS_SCREENSHOTS=1 also writes the ones the docs show to docs/.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..live.server import ROOT


def keep_screenshot(png: bytes, name: str, *, in_docs: bool = False) -> Path:
    """Keep ``png`` as the artifact ``name``, and as docs/``name`` with ``in_docs``
    when WSAUDIO_UPDATE_DOCS_SCREENSHOTS=1. Returns the artifact's path."""
    artifacts = Path(os.environ.get("WSAUDIO_ARTIFACTS", ROOT / "artifacts"))
    folder = artifacts / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(png)
    if in_docs and os.environ.get("WSAUDIO_UPDATE_DOCS_SCREENSHOTS") == "1":
        (ROOT / "docs" / name).write_bytes(png)
    return path
