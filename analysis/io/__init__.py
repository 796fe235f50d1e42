"""File readers (plugins of ``stsworkbench.readers``) and helpers they share."""

from analysis.io.registry import ReaderRegistry, ReaderSpec, read_file, registry, supported_extensions

__all__ = ["ReaderRegistry", "ReaderSpec", "read_file", "registry", "supported_extensions"]
