"""Processing of datasets: derived channels, levelling, display copies. Each step records provenance.

May import the data model, errors and numpy/scipy; never models, fitting or the store.
"""
