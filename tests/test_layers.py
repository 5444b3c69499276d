"""The layer contract (.importlinter) holds, and it would catch an upward import."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["config", "lab", "audit", "reporting", "modules", "factors", "carbon", "units", "infra"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)})


def test_the_layers_point_one_way():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]


def test_an_upward_import_breaks_the_contract(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    (tmp_path / "units" / "upward_probe.py").write_text("from reporting import selectors  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "units.upward_probe -> reporting.selectors" in result.stdout
