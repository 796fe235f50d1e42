"""Model registry fed by the entry-point group ``stsworkbench.models``.

Each entry point names a list (or one) of :class:`~analysis.models.base.Model` subclasses or instances.
Built-in families register through the same group in pyproject.toml, exactly as a third-party package would.
"""

from __future__ import annotations

from analysis.models.base import Model
from analysis.plugins import PluginFailure, PluginRegistry

GROUP = "stsworkbench.models"


def _accept_model(obj: object) -> Model:
    if isinstance(obj, type) and issubclass(obj, Model):
        obj = obj()
    if not isinstance(obj, Model):
        raise TypeError(f"entry point gave {type(obj).__name__}, expected a Model subclass")
    if not obj.name:
        raise TypeError(f"model class {type(obj).__name__} has no name")
    return obj


class ModelRegistry(PluginRegistry[Model]):
    """Models by unique name, lazily loaded; broken plugins are listed in ``failures()``."""

    def __init__(self, group: str = GROUP) -> None:
        super().__init__(group, _accept_model, lambda m: m.name)

    def by_family(self) -> dict[str, list[Model]]:
        out: dict[str, list[Model]] = {}
        for m in self.items():
            out.setdefault(m.family or "other", []).append(m)
        return out


_REGISTRY = ModelRegistry()


def registry() -> ModelRegistry:
    """The process-wide model registry."""
    return _REGISTRY


def get_model(name: str) -> Model:
    return _REGISTRY.get(name)


__all__ = ["GROUP", "ModelRegistry", "PluginFailure", "get_model", "registry"]
