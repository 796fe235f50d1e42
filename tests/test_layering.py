"""The computing core stays Qt-free and the repository's CI runs the README's own test command."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.conftest import ROOT


def test_importing_analysis_loads_no_qt() -> None:
    code = (
        "import sys, json, analysis, analysis.io, analysis.models, analysis.dataset\n"
        "from analysis.io import registry as r; r().readers()\n"
        "from analysis.models import registry as m; m().items()\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in "
        "('PySide6', 'shiboken6', 'pyqtgraph', 'PyQt5', 'PyQt6', 'widgets', 'app')]\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"analysis pulled in GUI modules: {loaded}"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, flags=re.S)
    test_cmds = [line.strip() for b in blocks for line in b.splitlines() if "pytest" in line]
    assert test_cmds, "README has no test command"
    assert test_cmds[0] in ci
