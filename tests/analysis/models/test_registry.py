"""The model registry: entry-point discovery, lazy loading, duplicates, failures, and the example plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.models.base import Model
from analysis.models.registry import GROUP, ModelRegistry, registry

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "example_plugin"

MINE = {
    "dynes_sin",
    "sis_conductance",
    "sis_current",
    "two_band_sin",
    "two_band_sis_conductance",
    "two_band_sis_current",
    "dwave_sin",
    "dwave_sis_conductance",
    "dwave_sis_current",
}


def install_dist(site: Path, dist: str, entry_points: dict[str, dict[str, str]]) -> None:
    """Write a minimal ``*.dist-info`` (what pip leaves behind) declaring ``entry_points`` into ``site``."""
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{k} = {v}" for k, v in eps.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def test_builtin_families_load_without_failures():
    reg = ModelRegistry()
    names = set(reg.names())
    assert MINE <= names
    broken = [f for f in reg.failures() if f.value.startswith("analysis.")]
    assert broken == [], [(f.name, f.reason) for f in broken]
    assert reg.origin("dynes_sin") == "analysis.models.bcs:MODELS"
    fams = reg.by_family()
    assert {m.name for m in fams["SIS"]} == {"sis_conductance", "sis_current"}
    assert all(isinstance(m, Model) for m in reg.items())


def test_process_registry_is_shared():
    assert registry() is registry()
    assert "dynes_sin" in registry()


def test_loading_is_lazy(tmp_path, monkeypatch):
    mod = tmp_path / "lazy_plugin_h3.py"
    mod.write_text(
        "from analysis.models.base import Model, Param\n"
        "class M(Model):\n"
        "    name = 'lazy_model_h3'\n"
        "    params = (Param('a', '', 1.0),)\n"
        "    def evaluate(self, x, **p):\n"
        "        return x * p['a']\n"
        "MODELS = [M]\n"
    )
    install_dist(
        tmp_path, "lazy_plugin_h3", {"stsworkbench.models.lazytest": {"lazy": "lazy_plugin_h3:MODELS"}}
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_plugin_h3", raising=False)
    reg = ModelRegistry("stsworkbench.models.lazytest")
    assert "lazy_plugin_h3" not in sys.modules  # nothing imported at construction
    assert reg.names() == ["lazy_model_h3"]
    assert "lazy_plugin_h3" in sys.modules
    np.testing.assert_allclose(reg.get("lazy_model_h3")(np.array([2.0])), [2.0])


def test_duplicates_refused_unless_override(tmp_path, monkeypatch):
    (tmp_path / "dup_plugin_h3.py").write_text(
        "from analysis.models.base import Model, Param\n"
        "class A(Model):\n"
        "    name = 'dup_h3'\n"
        "    params = (Param('a', '', 1.0),)\n"
        "    def evaluate(self, x, **p):\n"
        "        return x + 1\n"
        "class B(A):\n"
        "    def evaluate(self, x, **p):\n"
        "        return x + 2\n"
        "FIRST = [A]\n"
        "SECOND = [B]\n"
    )
    group = "stsworkbench.models.duptest"
    install_dist(
        tmp_path,
        "dup_plugin_h3",
        {group: {"a_first": "dup_plugin_h3:FIRST", "b_second": "dup_plugin_h3:SECOND"}},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = ModelRegistry(group)
    assert reg.names() == ["dup_h3"]
    assert reg.get("dup_h3")(np.array([0.0]))[0] == 1.0  # the first (sorted by entry-point name) wins
    (fail,) = reg.failures()
    assert fail.name == "b_second" and "duplicate name 'dup_h3'" in fail.reason
    with pytest.raises(ValueError, match="already registered"):
        reg.register(type(reg.get("dup_h3")))
    import dup_plugin_h3

    reg.register(dup_plugin_h3.B, override=True)
    assert reg.get("dup_h3")(np.array([0.0]))[0] == 2.0
    assert reg.origin("dup_h3") == "registered at run time"


def test_broken_plugins_are_listed_and_do_not_break_the_rest(tmp_path, monkeypatch):
    (tmp_path / "raising_plugin_h3.py").write_text("raise RuntimeError('this plugin is broken on purpose')\n")
    (tmp_path / "good_plugin_h3.py").write_text(
        "from analysis.models.base import Model, Param\n"
        "class G(Model):\n"
        "    name = 'good_h3'\n"
        "    params = (Param('a', '', 1.0),)\n"
        "    def evaluate(self, x, **p):\n"
        "        return x\n"
        "class Nameless(G):\n"
        "    name = ''\n"
        "MODELS = [G, Nameless, 42]\n"
    )
    group = "stsworkbench.models.brokentest"
    install_dist(
        tmp_path,
        "broken_plugins_h3",
        {
            group: {
                "missing": "no_such_module_h3_xyz:MODELS",
                "raising": "raising_plugin_h3:MODELS",
                "good": "good_plugin_h3:MODELS",
                "attr": "good_plugin_h3:NOT_THERE",
            }
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = ModelRegistry(group)
    assert reg.names() == ["good_h3"]
    reasons = {f.name: f.reason for f in reg.failures()}
    assert "ModuleNotFoundError" in reasons["missing"] and "no_such_module_h3_xyz" in reasons["missing"]
    assert "RuntimeError: this plugin is broken on purpose" in reasons["raising"]
    assert "AttributeError" in reasons["attr"]
    good_fails = [f.reason for f in reg.failures() if f.name == "good"]
    assert any("has no name" in r for r in good_fails)
    assert any("expected a Model subclass" in r for r in good_fails)
    tb = next(f for f in reg.failures() if f.name == "raising").details
    assert "raising_plugin_h3" in tb
    with pytest.raises(KeyError, match="no plugin named"):
        reg.get("missing")


def test_example_plugin_is_discovered_through_the_entry_point(tmp_path, monkeypatch):
    """The documented example package in tests/fixtures/example_plugin, 'installed' as pip would."""
    import tomllib

    meta = tomllib.loads((PLUGIN_DIR / "pyproject.toml").read_text())
    eps = meta["project"]["entry-points"]
    assert GROUP in eps
    install_dist(tmp_path, "sts_example_plugin", eps)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    reg = ModelRegistry()  # the real group, with every built-in family too
    assert "example_lorentzian_peak" in reg.names()
    assert MINE <= set(reg.names())
    assert reg.origin("example_lorentzian_peak") == "sts_example_plugin:MODELS"
    m = reg.get("example_lorentzian_peak")
    assert m.family == "examples" and m.y_unit == "S"
    x = np.linspace(-5e-3, 5e-3, 201)
    true = {"A": 2e-9, "V0": 3e-4, "w": 5e-4, "G0": 1e-9, "s": 1e-8}
    y = m(x, **true) + np.random.default_rng(0).normal(0, 1e-11, x.size)
    res = m.lmfit_model().fit(y, m.make_params(**m.guess(x, y)), x=x)
    assert res.params["V0"].value == pytest.approx(3e-4, abs=5e-6)
    assert res.params["w"].value == pytest.approx(5e-4, rel=0.02)
