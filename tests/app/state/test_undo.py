"""The Qt-free undo stack."""

from __future__ import annotations

from app.state.undo import DELETE, DictEdit, Macro, UndoStack


def test_dict_edit_add_replace_delete_undo_redo():
    d: dict[str, int] = {}
    calls = []
    st = UndoStack()
    st.on_change(lambda: calls.append(len(st)))
    st.push(DictEdit("add", d, "a", 1))
    st.push(DictEdit("change", d, "a", 2))
    st.push(DictEdit("delete", d, "a", DELETE))
    assert d == {} and st.undo_text == "delete"
    assert st.undo() and d == {"a": 2}
    assert st.undo() and d == {"a": 1}
    assert st.redo_text == "change"
    assert st.undo() and d == {}
    assert not st.undo() and not st.can_undo
    assert st.redo() and d == {"a": 1}
    st.push(DictEdit("other", d, "b", 5))  # drops the redo tail
    assert not st.can_redo and d == {"a": 1, "b": 5}
    assert calls == [1, 2, 3, 2, 1, 0, 1, 2]


def test_macro_is_one_step_and_limit():
    d: dict[str, int] = {"x": 0}
    st = UndoStack(limit=2)
    st.push(Macro("bands", [DictEdit("", d, k, i) for i, k in enumerate("abc")]))
    assert d == {"x": 0, "a": 0, "b": 1, "c": 2}
    st.undo()
    assert d == {"x": 0}
    st.redo()
    for i in range(3):
        st.push(DictEdit("", d, "x", i + 1))
    assert len(st) == 2
    st.clear()
    assert not st.can_undo and not st.can_redo
