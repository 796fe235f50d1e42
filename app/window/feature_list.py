"""Feature modules installed into the main window, in order.

Each names a module with ``install(host) -> None``; ``host`` is the main window, seen through the protocol
:class:`app.features.host.Host` (``state``, ``add_dock(...)``, ``menu(name)``, ``run_job(...)``,
``log(level, text)``, ...).
"""

FEATURES: list[str] = [
    "app.features.fit",
    "app.features.regions",
    "app.features.linecuts",
    "app.features.project",
    "app.features.series",
    "app.features.topography",
    "app.features.lattice",
    "app.features.paper_neck",
    "app.features.paper_mesa",
    "app.features.figures",
    "app.features.paper_its",
    "app.features.paper_microwave",
    "app.window.scenarios",
]
