"""File readers and writers (plugins of ``stsworkbench.readers``) and helpers they share.

May import the data model, errors and the plugin helpers; never models, fitting, maps or processing.
"""

from analysis.io.registry import ReaderRegistry, ReaderSpec, read_file, registry, supported_extensions

__all__ = ["ReaderRegistry", "ReaderSpec", "read_file", "registry", "supported_extensions"]
