"""Analyses of the transport papers: necks (001), mesas (002), intrinsic tunnelling (003), microwave (004).
May import the data model, analysis.series, analysis.models and analysis.fitting; never io, store or Qt.
"""
