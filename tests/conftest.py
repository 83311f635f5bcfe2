"""Session-wide test settings: everything the pack caches goes to a temporary folder of this session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def temporary_cache_folder(tmp_path_factory):
    """$STYLEHEAT_CACHE_DIR (the 3DMM motion cache outside ComfyUI) in this session's temporary folder, never in $HOME."""
    folder = tmp_path_factory.mktemp("styleheat-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STYLEHEAT_CACHE_DIR", str(folder))
        yield folder
