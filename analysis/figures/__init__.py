"""Publication figures: Qt-free figure descriptions, their resolution against the session's data and
rendering with matplotlib's Agg backend. Imports analysis, numpy, h5py and matplotlib; never Qt or app."""
