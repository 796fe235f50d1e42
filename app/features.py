"""Feature modules installed into the main window, in order.

Each names a module with ``install(window) -> None``; ``window`` is :class:`app.main_window.MainWindow`,
which offers ``state``, ``add_dock(...)``, ``menu(name)``, ``run_job(...)`` and ``log(level, text)``.
"""

FEATURES: list[str] = [
    "app.fit_feature",
    "app.regions_feature",
    "app.linecut_feature",
    "app.project_feature",
    "app.scenarios",
]
