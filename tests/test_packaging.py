"""Registry metadata: what ComfyUI, ComfyUI-Manager and the Comfy Registry read from pyproject.toml and requirements.txt."""

import re
import sys
from urllib.parse import urlparse

import pytest
import tomllib
from PIL import Image

from tests.support.pack import ROOT

COMFYUI = ROOT / ".cache" / "comfyui"
TORCH_FAMILY = {"torch", "torchvision", "torchaudio", "torchsde"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def test_neither_requirements_nor_pyproject_pull_torch_and_they_agree():
    requirements = _requirements()
    dependencies = _pyproject()["project"]["dependencies"]
    assert {_name(r) for r in requirements} & TORCH_FAMILY == set()
    assert {_name(d) for d in dependencies} & TORCH_FAMILY == set()
    assert sorted(requirements) == sorted(dependencies)
    assert not [r for r in requirements if "==" in r or "<" in r]  # no pins that fight other packs


def test_registry_fields_are_present_and_the_icon_ships_in_the_repository():
    project = _pyproject()
    repository = project["project"]["urls"]["Repository"]
    assert urlparse(repository).scheme == "https" and repository.endswith("/ComfyUI-StyleHEAT")
    comfy = project["tool"]["comfy"]
    assert comfy["PublisherId"] and comfy["DisplayName"] == "ComfyUI-StyleHEAT"
    owner_repo = urlparse(repository).path.strip("/")
    prefix = f"https://raw.githubusercontent.com/{owner_repo}/main/"
    assert comfy["Icon"].startswith(prefix)
    with Image.open(ROOT / comfy["Icon"].removeprefix(prefix)) as icon:
        assert icon.format == "PNG" and icon.size[0] == icon.size[1] <= 400


@pytest.mark.skipif(not (COMFYUI / "comfy_config").is_dir(), reason="the test ComfyUI is not installed (scripts/setup_comfyui.sh)")
def test_comfyui_reads_the_metadata_as_the_registry_does(monkeypatch):
    monkeypatch.syspath_prepend(str(COMFYUI))
    for name in [m for m in sys.modules if m == "comfy_config" or m.startswith("comfy_config.")]:
        monkeypatch.delitem(sys.modules, name)
    from comfy_config.config_parser import extract_node_configuration

    config = extract_node_configuration(str(ROOT))
    assert config.tool_comfy.publisher_id == "styleheat"
    assert config.tool_comfy.icon.endswith("/docs/images/icon.png")
    assert config.project.urls.repository.endswith("/ComfyUI-StyleHEAT")
