"""Generic records (line cuts, fits, ...) as a project attachment and back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from analysis.dataset import Frame
from analysis.maps.linecut import CutPath
from analysis.maps.regions import Rectangle, Region
from analysis.store import open_project, save_project
from analysis.store.records import (
    RecordError,
    key_remapper,
    records_attachment,
    records_from_attachment,
    resolve_class,
)


@dataclass
class Local:  # defined in the tests package: not trusted, comes back as a dict
    a: int = 1


def _round_trip(tmp_path, items, remap=None):
    path = tmp_path / "r.h5"
    save_project(path, [], {"things": records_attachment(items)})
    with open_project(path) as p:
        if remap is None:
            return records_from_attachment(p.attachments["things"])
        return records_from_attachment(p.attachments["things"], remap)


def test_dicts_with_arrays_tuples_and_numpy_scalars(tmp_path):
    vals = np.arange(12, dtype=np.float32).reshape(3, 4)
    items = {
        "a": {"values": vals, "pair": (1.5, 2), "n": np.int64(7), "ok": np.bool_(True), "nan": float("nan")},
        "b": {"nested": {"mask": np.eye(3, dtype=bool), "list": [np.float64(0.5), "x", None]}},
    }
    out, warnings = _round_trip(tmp_path, items)
    assert warnings == [] and list(out) == ["a", "b"]
    a = out["a"]
    np.testing.assert_array_equal(a["values"], vals)
    assert a["values"].dtype == np.float32
    assert a["pair"] == (1.5, 2) and isinstance(a["pair"], tuple)
    assert a["n"] == 7 and type(a["n"]) is int and a["ok"] is True and np.isnan(a["nan"])
    assert out["b"]["nested"]["mask"].dtype == bool
    assert out["b"]["nested"]["list"] == [0.5, "x", None]


def test_to_dict_objects_and_dataclasses_are_rebuilt(tmp_path):
    frame = Frame(size=(10e-9, 10e-9), shape=(4, 5))
    mask = np.zeros((4, 5), bool)
    mask[1, 2] = True
    items = {
        "cut": CutPath(((0.0, 0.0), (1e-9, 2e-9)), width_m=1e-10, name="c"),
        "masked": Region("m", (1, 2, 3), mask=mask, frame=frame),  # to_dict -> (dict, mask)
        "geom": Region("g", (4, 5, 6), geometry=Rectangle((0.0, 0.0), (1e-9, 1e-9))),
        "frame": frame,  # a dataclass with to_dict/from_dict
    }
    out, warnings = _round_trip(tmp_path, items)
    assert warnings == []
    assert out["cut"] == items["cut"]
    np.testing.assert_array_equal(out["masked"].mask, mask)
    assert out["masked"].frame == frame and out["geom"].geometry == items["geom"].geometry
    assert out["frame"] == frame


def test_untrusted_classes_are_never_imported(tmp_path):
    out, warnings = _round_trip(tmp_path, {"x": Local(5), "y": {"inner": Local(2)}})
    assert out == {"x": {"a": 5}, "y": {"inner": {"a": 2}}}
    assert len(warnings) == 2 and all("outside the trusted packages" in w for w in warnings)
    with pytest.raises(RecordError, match="trusted"):
        resolve_class("os:system")
    with pytest.raises(RecordError, match="not available"):
        resolve_class("analysis.maps.linecut:NoSuchThing")


def test_references_are_rewritten_only_in_reference_fields(tmp_path):
    items = {"f": {"grid": "d1", "maps": "d2", "regions": ["r1", "r9"], "label": "d1", "model": "d2"}}
    out, _ = _round_trip(tmp_path, items, key_remapper({"d1": "d10", "d2": "d11", "r1": "r5"}))
    assert out["f"] == {"grid": "d10", "maps": "d11", "regions": ["r5", "r9"], "label": "d1", "model": "d2"}


def test_what_cannot_be_stored_is_named():
    class Opaque:
        pass

    with pytest.raises(RecordError, match="'k'.*Opaque"):
        records_attachment({"k": Opaque()})
    with pytest.raises(RecordError, match="cannot store a value of type object"):
        records_attachment({"k": {"v": object()}})

    class Broken:
        def to_dict(self):
            raise RuntimeError("boom")

        @classmethod
        def from_dict(cls, d):
            return cls()

    with pytest.raises(RecordError, match="'k' could not be stored: RuntimeError: boom"):
        records_attachment({"k": Broken()})


def test_malformed_attachment_raises_record_error():
    from analysis.store import Attachment

    with pytest.raises(RecordError):
        records_from_attachment(Attachment(data={"items": {"a": 1}}))
    with pytest.raises(RecordError, match="unknown form"):
        records_from_attachment(Attachment(data={"items": [{"id": "a", "form": "pickle"}]}))
    with pytest.raises(RecordError, match="missing"):
        records_from_attachment(
            Attachment(data={"items": [{"id": "a", "form": "dict", "data": {"v": {"__array__": "0/0"}}}]})
        )
