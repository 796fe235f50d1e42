"""Views of the transport workspace: a series of I(V) sweeps against a tag (field, temperature, rf power...).

One module per view, all pyqtgraph:

* :mod:`.overlay` -- every sweep on one plot, coloured by a tag through a colour map, with a colour bar;
* :mod:`.waterfall` -- the same curves offset one above the other by a step the user chooses;
* :mod:`.map2d` -- a quantity against x and a tag as a colour map, with a crosshair and the two cuts;
* :mod:`.result_plot` -- fitted or extracted results (points with error bars) against a tag;
* :mod:`.markers` -- draggable ladders (a/n and n*step) and peak/step pickers with an editable table;
* :mod:`.series_panel` -- the dock panel that hosts the views as tabs with the quantity and tag choosers.

The views take plain numpy arrays (in SI units, with the unit names beside them) and emit signals for the
owner to act on. They import nothing from ``app`` and no processing from ``analysis``: they read no files
and compute no physics (a derived quantity, such as dV/dI on a regular grid, arrives ready to draw).
"""
