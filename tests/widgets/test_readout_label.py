"""The status-bar read-out: new texts never make the window lay out again."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel, QMainWindow

from widgets.readout_label import ReadoutLabel


class _LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def test_new_texts_ask_for_no_layout_of_the_status_bar(qtbot):
    w = QMainWindow()
    qtbot.addWidget(w)
    w.setCentralWidget(QLabel("map"))
    readout = ReadoutLabel(300)
    w.statusBar().addPermanentWidget(readout)
    w.resize(800, 400)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)
    requests = _LayoutRequests()
    w.statusBar().installEventFilter(requests)
    w.installEventFilter(requests)
    for k in range(20):  # what each mouse move over a map writes
        readout.setText(
            f"x = {k * 1.37:.2f} nm, y = 4.2 nm: dI/dV = {k * 0.123:.3f} nS at {k} mV" * (k % 3 + 1)
        )
        qtbot.wait(5)
    assert requests.count == 0
    assert readout.text().startswith("x = 26.03 nm") and readout.width() == 300
    assert not readout.fits() and readout.toolTip() == readout.text()
    assert readout.shown_text().endswith("…")
