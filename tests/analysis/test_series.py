"""The Series data model: turning points, tags, repeated sweeps, subsets."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.series import Series, Sweep, make_series, segments


def test_segments_of_an_up_down_sweep_share_the_turning_point():
    x = np.r_[np.linspace(0, 1, 11), np.linspace(0.9, -1, 20), np.linspace(-0.9, 0, 10)]
    seg = segments(x)
    assert [(s.direction) for s in seg] == [1, -1, 1]
    assert seg[0].stop - 1 == seg[1].start  # the turning point is in both
    assert x[seg[0].stop - 1] == 1.0 and x[seg[1].stop - 1] == -1.0
    assert seg[-1].stop == x.size


def test_segments_ignore_plateaus_and_short_input():
    assert segments(np.array([0.0, 1.0, 1.0, 2.0])) == segments(np.array([0.0, 1.0, 1.5, 2.0]))
    assert len(segments(np.array([5.0]))) == 1
    assert segments(np.array([3.0, 2.0, 1.0]))[0].direction == -1


def test_series_tags_groups_and_select():
    sweeps = [
        {"Current": np.linspace(-1e-6, 1e-6, 5), "Voltage": np.linspace(-1e-3, 1e-3, 5) * k}
        for k in (1, 2, 3, 4)
    ]
    s = make_series(sweeps, units={"Current": "A", "Voltage": "V"}, tags={"H": [0.2, 0.1, 0.2, np.nan]})
    assert s.bias_mode == "current" and s.x_unit == "A" and s.tag_unit("H") == "T"
    assert list(s.order("H")) == [1, 0, 2, 3]
    assert s.groups("H") == [(0.1, [1]), (0.2, [0, 2])]
    sub = s.select([2, 0])
    assert len(sub) == 2 and list(sub.tag("H")) == [0.2, 0.2]
    assert sub.sweeps[0] is s.sweeps[2]
    assert sub.provenance[-1]["operation"] == "select"


def test_series_refuses_inconsistent_tags_and_channels():
    with pytest.raises(ValueError, match="2 values for 1 sweeps"):
        Series(sweeps=[Sweep(x=np.zeros(3))], tags={"T": [1.0, 2.0]})
    with pytest.raises(ValueError, match="shape"):
        make_series([{"Current": np.zeros(4), "Voltage": np.zeros(3)}])
    with pytest.raises(ValueError, match="bias_mode"):
        Series(bias_mode="both")
