"""Analysis > Derived channel...: computes a derived dataset in the background and adds it as a child."""

from __future__ import annotations

from typing import Any

from analysis.channels import preferred_channel
from analysis.dataset import BWD_SUFFIX, Grid, Image
from analysis.processing import derived
from analysis.processing.levelling import levelled_image
from app.features.host import Host
from app.state.edits import AddDataset
from widgets.derived_dialog import DerivedDialog


def _level_job(z: Any, frame: Any, method: str, name: str, unit: str, valid: Any, label: str, **_hooks: Any):
    return levelled_image(z, frame, method, name=name, unit=unit, valid=valid, source_name=label)


class DerivedController:
    """Owns the dialog; ``dialog`` is the open one (or None)."""

    def __init__(self, window: Host) -> None:
        self.window = window
        self.dialog: DerivedDialog | None = None
        self.last_job = None
        act = window.menu("Analysis").addAction("&Derived channel...")
        act.triggered.connect(lambda: self.show_dialog())

    def _target(self) -> str | None:
        cur = self.window.state.current
        if cur is not None and isinstance(self.window.state.entries[cur].dataset, Grid | Image):
            return cur
        return self.window.current_grid_key()

    def show_dialog(self, key: str | None = None) -> DerivedDialog | None:
        key = key or self._target()
        if key is None:
            self.window.log("warning", "Open a grid or an image first")
            return None
        entry = self.window.state.entries[key]
        ds = entry.dataset
        channels = ds.channel_names("all") if isinstance(ds, Grid) else []
        maps = list(ds.params) if isinstance(ds, Grid) else list(ds.channels)  # type: ignore[union-attr]
        defaults: dict[str, str] = {}
        if isinstance(ds, Grid) and channels:
            cur = preferred_channel(ds, "current")
            didv = preferred_channel(ds, "didv")
            ys = [c for c in channels if "y" in c.lower() and not c.endswith(BWD_SUFFIX)]
            defaults = {
                "didv:a": cur,
                "normalise:a": didv,
                "normalise:b": cur,
                "rotate:a": didv,
                "smooth:a": didv,
            }
            if ys:
                defaults["rotate:b"] = ys[0]
        dlg = DerivedDialog(entry.label, channels, maps, defaults, parent=self.window)
        if not channels:
            dlg.set_operation("level")
        dlg.accepted.connect(lambda: self._run(key, dlg.values()))
        dlg.finished.connect(lambda _r: dlg.deleteLater())
        self.dialog = dlg
        dlg.open()
        return dlg

    def _run(self, key: str, v: dict[str, Any]) -> None:
        state = self.window.state
        if key not in state.entries:
            return
        entry = state.entries[key]
        ds = entry.dataset
        op = v["operation"]
        if op == "didv":
            fn, args, kw = (
                derived.didv_from_current,
                (ds, v["channel_a"]),
                {"window": v["window"], "order": v["order"]},
            )
        elif op == "smooth":
            fn, args, kw = (
                derived.smooth_along_bias,
                (ds, v["channel_a"]),
                {"window": v["window"], "order": v["order"]},
            )
        elif op == "normalise":
            b = v["broadening_mV"] * 1e-3 if v["broadening_mV"] > 0 else None
            fn, args, kw = (
                derived.normalised_conductance,
                (ds, v["channel_a"], v["channel_b"]),
                {"broadening": b},
            )
        elif op == "rotate":
            fn, args, kw = derived.rotate_lockin, (ds, v["channel_a"], v["channel_b"]), {}
        else:
            name = v["map"]
            if isinstance(ds, Grid):
                z, unit, valid = ds.params[name], ds.param_units.get(name, ""), ds.valid
            else:
                z, unit, valid = ds.channels[name], ds.unit(name), None  # type: ignore[union-attr]
            fn = _level_job
            args = (z, ds.frame, v["method"], name, unit, valid, entry.label)  # type: ignore[union-attr]
            kw = {}

        def done(result: Any) -> None:
            if key not in state.entries:
                return
            edit = AddDataset(state, result, result.name or op, parent=key)
            state.undo.push(edit)
            self.window.log("info", f"Derived {state.entries[edit.key].label}")  # type: ignore[index]

        self.last_job = self.window.run_job(fn, *args, name=f"Derived: {op}", on_finished=done, **kw)
