"""Physical models: one module per family, registered through ``stsworkbench.models`` entry points.

May import only the data model, numerics (this package's own), constants, errors and plugin helpers.
"""

from analysis.models.base import Model, Param
from analysis.models.registry import ModelRegistry, get_model, registry

__all__ = ["Model", "ModelRegistry", "Param", "get_model", "registry"]
