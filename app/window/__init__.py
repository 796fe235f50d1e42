"""The main window and its composition: docks, menus, the feature list, the GUI entry point, scenarios.

The only package that may import every other app package; nothing outside it imports it.
"""
