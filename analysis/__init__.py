"""Computing core of STS Workbench: data model, readers, processing, models and fitting.

Pure Python + numpy/scipy/lmfit/h5py; never imports Qt. Usable from scripts and notebooks.
"""

from analysis.dataset import Frame, Grid, Image, Source, Spectrum

__all__ = ["Frame", "Grid", "Image", "Source", "Spectrum"]
