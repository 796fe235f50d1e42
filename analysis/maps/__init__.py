"""Map analyses of grids and images: regions and their masks, region averages, clustering, line cuts,
map correlation, normalisation of spectra and length fits along profiles.

May import the data model, errors and numpy/scipy; never the models, fitting or the store.
"""
