"""Bad input to the paper analyses raises the project's errors with a clear message."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import ModelError, WorkbenchError
from analysis.models import mar
from analysis.papers import its, mesa, microwave, neck


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: neck.neck_gap(np.zeros(10), np.zeros(9)), "differ in length"),
        (lambda: neck.neck_gap_from_peaks([]), "no subharmonic"),
        (lambda: neck.neck_gap_from_peaks([-1e-3, 1e-3]), "positive"),
        (lambda: neck.neck_gap_from_peaks([1e-3], delta_range=(2e-3, 1e-3)), "invalid gap range"),
        (lambda: neck.neck_excess_current(np.linspace(-1, 1, 11), np.zeros(11)), "delta"),
        (lambda: neck.sharvin_size(-5.0), "positive"),
        (lambda: neck.phase_slips_vs_field([(np.zeros(3), np.zeros(3))], [0.0, 1.0]), "one field"),
        (lambda: microwave.step_amplitudes(np.zeros(10), np.zeros(10), -1.0), "frequency"),
        (lambda: microwave.joint_attenuator_calibration([], 1e10), "no step"),
        (lambda: microwave.joint_attenuator_calibration([], 1e10, law="x"), "law"),
        (lambda: microwave.fit_gap_global([], 1e10), "no step"),
        (lambda: its.smooth_resistance(np.arange(5.0), np.ones(5)), "at least 8"),
        (lambda: its.smooth_resistance(np.arange(10.0), -np.ones(10)), "positive"),
        (lambda: its.brush_branches([]), "no branches"),
        (lambda: mesa.beta_of_curve(np.linspace(0, 1, 10), np.ones(10), 0), "at least 1"),
        (lambda: mesa.beta_vs_n([], [1]), "one junction count"),
    ],
)
def test_bad_input_is_a_workbench_error(call, match):
    with pytest.raises(WorkbenchError, match=match):
        call()


def test_mar_bad_input():
    with pytest.raises(ModelError, match="transmissions"):
        mar.mar_reduced_current(np.array([1.0]), -0.1)
    with pytest.raises(ModelError, match="channels"):
        mar.fit_mar(np.linspace(-1e-3, 1e-3, 50), np.zeros(50), 0)
