"""Built-in demo data made from the project's own models (co-registered MgB2-like grids).

May import the data model and the models; never the store, fitting or map analyses.
"""
