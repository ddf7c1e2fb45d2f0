"""The vendored ECharts bundle is the npm package pinned in package.json, byte for byte."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db  # the package conftest clears cached quota bands

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "static" / "vendor" / "echarts"
PACKAGE = ROOT / "node_modules" / "echarts"
FILES = {"echarts.common.min.js": "dist/echarts.common.min.js", "LICENSE": "LICENSE",
         "NOTICE": "NOTICE", "LICENSE-d3": "licenses/LICENSE-d3"}  # fmt: skip


def pinned_version() -> str:
    return json.loads((ROOT / "package.json").read_text())["dependencies"]["echarts"]


def test_the_pin_is_exact_and_the_lock_file_agrees():
    version = pinned_version()
    assert version[0].isdigit(), "pin echarts exactly (npm install --save-exact)"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/echarts"]["version"] == version
    assert version in (VENDORED / "README.md").read_text()


def test_vendored_files_are_the_installed_package():
    if not (PACKAGE / "package.json").exists():
        pytest.skip("node_modules/echarts not installed (make npm)")
    installed = json.loads((PACKAGE / "package.json").read_text())["version"]
    assert installed == pinned_version(), "node_modules is not the pinned version: make npm"
    for vendored, source in FILES.items():
        assert (VENDORED / vendored).read_bytes() == (PACKAGE / source).read_bytes(), vendored
