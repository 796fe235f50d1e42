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


def _modules_loaded_by(imports: str) -> list[str]:
    code = (
        f"import sys, json\n{imports}\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules} & "
        "{'PySide6', 'shiboken6', 'pyqtgraph', 'widgets'}) + "
        "sorted(n for n in sys.modules if n.startswith(('app.window', 'app.features', 'app.workers')))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_app_state_is_qt_free() -> None:
    loaded = _modules_loaded_by("import app.state, app.state.undo, app.state.project_io")
    assert loaded == [], f"the application state pulled in {loaded}"


def test_window_less_commands_load_no_qt() -> None:
    loaded = _modules_loaded_by(
        "import app.cli, app.commands.info, app.commands.convert, app.commands.fit, app.commands.series, "
        "app.commands.figure"
    )
    assert loaded == [], f"the console commands pulled in {loaded}"


def test_app_is_split_into_its_packages() -> None:
    """The app tree shows its architecture: no loose modules beside the entry point."""
    loose = sorted(p.name for p in (ROOT / "app").glob("*.py") if p.name not in {"__init__.py", "cli.py"})
    assert loose == [], f"modules at the root of app/: {loose}"
    for package in ("commands", "state", "workers", "features", "window"):
        init = ROOT / "app" / package / "__init__.py"
        assert init.is_file() and init.read_text(encoding="utf-8").startswith('"""'), package
