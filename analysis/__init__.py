"""Computing core of STS Workbench: data model, readers, processing, models and fitting.

Pure Python + numpy/scipy/lmfit/h5py; never imports Qt. Usable from scripts and notebooks.
"""

from analysis.dataset import Frame, Grid, Image, Source, Spectrum
from analysis.series import Series, Sweep

__all__ = ["Frame", "Grid", "Image", "Series", "Source", "Spectrum", "Sweep"]
