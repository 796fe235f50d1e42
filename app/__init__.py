"""Composition layer: main window, docks, menus, application state, workers and the CLI."""
