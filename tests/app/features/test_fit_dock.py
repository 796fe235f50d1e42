"""The fit dock in the real window: the plot's x axis names the model's independent variable (chosen with
the model combo's popup), parameter-table edits typed into the table are undone and redone with the
window's shortcuts, and a batch fit started from its dialog shows determinate progress from the start."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from analysis.dataset import Spectrum
from tests.app.real_input import choose, menu_action


@pytest.fixture
def window(qtbot, tmp_path):
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, features=["app.features.fit"], restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    yield w
    w.shutdown()


def _bottom(panel) -> tuple[str, str]:
    axis = panel.plot.getAxis("bottom")
    return axis.labelText, axis.labelUnits


def test_the_x_axis_follows_the_model_chosen_in_the_dock(window, qtbot):
    x = np.linspace(0.0, 2.5e-3, 60)
    window.state.add_dataset(
        Spectrum(name="steps", units={"I": "A"}, x=x, channels={"I": 1e-9 * np.cos(x / 1e-3)}), "steps"
    )
    menu_action(qtbot, window, "Analysis", "Fit spectrum")
    panel = window.fit_controller.panel
    qtbot.waitUntil(panel.isVisible, timeout=3000)

    choose(qtbot, panel.model_combo, "iz_current")
    assert _bottom(panel) == ("Bias", "V")
    assert panel.data_arrays()[0].size == 60

    choose(qtbot, panel.model_combo, "shapiro_bessel")  # I_N(V_rf): the sweep is the rf voltage
    assert _bottom(panel) == ("rf voltage", "V")
    assert panel.data_arrays()[0].size == 60

    choose(qtbot, panel.model_combo, "shapiro_bessel_attenuation")  # I_N(A) in dB: not this sweep
    assert _bottom(panel) == ("attenuation", "dB")
    assert panel.data_arrays()[0].size == 0
    note = panel.channel_note.text()
    assert "independent variable is attenuation (dB)" in note, note


def _type_into_cell(qtbot, table, row: int, column: int, text: str) -> None:
    """Click the cell, press F2 to edit it, replace its text with ``text`` and press Enter."""
    from PySide6.QtWidgets import QLineEdit

    table.scrollToItem(table.item(row, column))
    rect = table.visualItemRect(table.item(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.keyClick(table, Qt.Key.Key_F2)  # edit the current cell
    qtbot.waitUntil(lambda: bool(table.viewport().findChildren(QLineEdit)), timeout=3000)
    editor = table.viewport().findChildren(QLineEdit)[-1]
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != table.State.EditingState, timeout=3000)
    qtbot.wait(20)  # the delegate commits the editor's text from the event loop


def _cell(table, name: str, column: int) -> str:
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == name)
    return table.item(row, column).text()


def test_parameter_edits_are_undone_and_redone_with_the_window_shortcuts(window, qtbot):
    from widgets.fit_panel import C_EXPR, C_MAX, C_VALUE, C_VARY

    menu_action(qtbot, window, "Analysis", "Fit spectrum")
    panel = window.fit_controller.panel
    qtbot.waitUntil(panel.isVisible, timeout=3000)
    choose(qtbot, panel.model_combo, "dynes_sin")
    table = panel.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == "Delta")
    default = _cell(table, "Delta", C_VALUE)
    history = window.history.panel.list

    _type_into_cell(qtbot, table, row, C_VALUE, "0.0021")
    assert _cell(table, "Delta", C_VALUE) == "0.0021"
    assert window.state.fit_starts["dynes_sin"]["Delta"]["value"] == pytest.approx(2.1e-3)
    _type_into_cell(qtbot, table, row, C_MAX, "0.01")
    _type_into_cell(qtbot, table, row, C_EXPR, "Gamma*10")
    rect = table.visualItemRect(table.item(row, C_VARY))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.keyClick(table, Qt.Key.Key_Space)  # toggles the Vary check box
    assert table.item(row, C_VARY).checkState() == Qt.CheckState.Unchecked
    texts = [history.item(i).text() for i in range(history.count())]
    assert texts[-4:] == [
        "Fit Delta value (dynes_sin)",
        "Fit Delta max (dynes_sin)",
        "Fit Delta expression (dynes_sin)",
        "Fit Delta vary (dynes_sin)",
    ], texts

    window.activateWindow()
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert table.item(row, C_VARY).checkState() == Qt.CheckState.Checked
    assert _cell(table, "Delta", C_EXPR) == "" and _cell(table, "Delta", C_MAX) != "0.01"
    assert _cell(table, "Delta", C_VALUE) == "0.0021"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _cell(table, "Delta", C_VALUE) == default
    redo = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_Z, redo)
    qtbot.keyClick(window, Qt.Key.Key_Z, redo)
    assert _cell(table, "Delta", C_VALUE) == "0.0021" and _cell(table, "Delta", C_MAX) == "0.01"

    # an edit of another model's table is taken back in that model's table
    choose(qtbot, panel.model_combo, "dwave_sin")
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.current_model() == "dynes_sin"
    assert _cell(table, "Delta", C_VALUE) == "0.0021" and _cell(table, "Delta", C_MAX) != "0.01"


def _dynes_grid(ny: int, nx: int, nb: int = 96):
    from analysis.dataset import Frame, Grid
    from analysis.models.registry import get_model

    model = get_model("dynes_sin")
    x = np.linspace(-5e-3, 5e-3, nb)
    P = np.tile(np.array([model.defaults()[k] for k in model.param_names]), (ny * nx, 1))
    P[:, 0], P[:, 1], P[:, 2] = 2e-8, 1.4e-3, 0.08e-3
    noise = 2e-10 * np.random.default_rng(0).standard_normal((ny * nx, nb))
    cube = (model.evaluate_batch(x, P) + noise).reshape(ny, nx, nb).astype(np.float32)
    return Grid(
        name="dynes",
        units={"dI/dV": "S"},
        bias=x,
        channels={"dI/dV": cube},
        frame=Frame(center=(0.0, 0.0), size=(nx * 1e-9, ny * 1e-9), shape=(ny, nx)),
        valid=np.ones((ny, nx), bool),
    )


@pytest.mark.timeout(120)
def test_batch_fit_progress_is_determinate_from_the_first_chunk(window, qtbot):
    """A batch fit over two worker processes, started with a click in the dialog: the dialog's bar is
    told 0 of n pixels before any chunk is in (it leaves the busy state at 0 %) and then moves once per
    small first chunk, not in quarters."""
    window.state.add_dataset(_dynes_grid(32, 32), "dynes grid")
    menu_action(qtbot, window, "Analysis", "Batch fit to parameter maps...")
    d = window.fit_controller.dialog
    qtbot.waitUntil(lambda: d is not None and d.isVisible(), timeout=5000)
    choose(qtbot, d.model_combo, "dynes_sin")
    d.workers.setValue(2)
    seen: list[tuple[int, int]] = []  # (total, done) as the dialog is told them, in order
    shown = d.set_progress

    def record(done: int, total: int) -> None:
        seen.append((int(total), int(done)))
        shown(done, total)

    d.set_progress = record  # observed, then shown as before
    qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.fit_controller.batch_job is None, timeout=110000)
    assert "converged" in d.status.text(), d.status.text()
    during = [(m, v) for m, v in seen if m == 1024]
    assert during and during[0][1] == 0, seen  # determinate (0 of 1024 pixels) before any chunk is in
    steps = sorted({v for _m, v in during if 0 < v < 1024})
    assert steps and steps[0] <= 128, steps  # the first chunks are small
    assert len(steps) >= 5, steps
