"""Point contacts and necks ([NECK], Pb STM necks): subharmonic gap structure, excess current, contact size,
charge-imbalance length with pair breaking, and the superconducting length of a conical neck in field.

Units: bias in V, gaps in eV, currents in A, resistances in Ohm, lengths in m, times in s, fields in T
(mu_0 H), temperatures in K.

Subharmonic gap structure (multiple Andreev reflection, identical electrodes)::

    e V_n = 2 Delta / n,   n = 1, 2, 3, ...        (Delta = 1.35 meV: 2.700, 1.350, 0.900, 0.675 mV)

Self-heating shows up as V_1 < 2 V_2: the n = 1 feature is reached at the largest current and the gap
there is reduced. The local temperature follows from Delta(T_loc) = e V_1/2 with Delta(0) from the
unheated n >= 2 features (BCS Delta(T), PHYSICS section 11).

Sharvin contact: R_S = (h/2e^2) lambda_F^2/(pi A). With A = pi a^2 this gives the radius
a = (lambda_F/pi) sqrt((h/2e^2)/R_S); both a and the diameter d = 2a are reported. For free-electron Pb
(lambda_F = 0.399 nm) R_S = 5 Ohm gives a = 6.45 nm and d = 12.9 nm. **Flag:** [NECK] writes "R of about
5 Ohm corresponds to a contact with a diameter of about d = 6 nm"; that number is the radius.

Charge imbalance (Schmid-Schon): Lambda_Q* = sqrt(D tau_Q*), D = v_F l/3, tau_Q* = (4/pi)(kB T/Delta) tau_E.
[NECK] inputs (tau_E = 2.5e-11 s, l = 10 nm, T = 4.2 K, Delta = 1.35 meV, v_F = 1.82e6 m/s) give 228 nm.
**Flag:** the paper quotes "Lambda_Q* > 430 nm" for these parameters; its own formula does not give that
(394 nm without the 1/3 in D, 440 nm with kB T/Delta -> 1). Pair breaking replaces tau_E by
sqrt(tau_E / (2 (1/tau_PB + 1/tau_E))) in the paper; that form tends to tau_E/sqrt(2), not tau_E, as
tau_PB -> infinity. The corrected form sqrt(tau_E/(2/tau_PB + 1/tau_E)) reduces properly. Both are
available (``form="paper"`` or ``"corrected"``); with hbar/tau_PB = 0.2 kB Tc they shrink Lambda_Q* by
1.84 and 1.80 (the paper: "a factor of 2").

Neck in field: a disk of radius r stays superconducting below H_crit(r) = 4 lambda H_c/r; a cone
r(z) = r0 + |z| tan(theta) is superconducting over L_S = 2 (4 lambda H_c/H - r0)/tan(theta).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, signal

from analysis.constants import E_CHARGE, HBAR, K_B_EV, R_SHARVIN
from analysis.models.base import Model, Param

ELECTRON_MASS = 9.1093837015e-31  # kg (CODATA 2018)

#: Free-electron density of Pb (4 electrons per atom, fcc a = 4.95 A): 13.2e28 m^-3.
PB_ELECTRON_DENSITY = 13.2e28
PB_TC = 7.2  # K
PB_DELTA0 = 1.35e-3  # eV
PB_LAMBDA_L = 37e-9  # m (literature)

#: Excess current at T = 0 in units of Delta/(e R_N) [literature].
EXCESS_CURRENT_REFERENCE = {
    "ballistic, transparent (OBTK / Averin-Bardeen)": 8.0 / 3.0,
    "diffusive (Artemenko-Volkov-Zaitsev)": math.pi**2 / 4.0 - 1.0,
    "tunnel": 0.0,
}


# ---------------------------------------------------------------------------------------------------
# Subharmonic gap structure
# ---------------------------------------------------------------------------------------------------


def sgs_positions(delta, n_max: int = 4) -> np.ndarray:
    """V_n = 2 Delta/(n e) in V for n = 1..n_max (Delta in eV). Shape (n_max,)."""
    n = np.arange(1, int(n_max) + 1, dtype=float)
    return 2.0 * float(delta) / n


def find_sgs_peaks(
    V,
    y,
    *,
    quantity: str = "dVdI",
    polarity: str | None = None,
    prominence: float | None = None,
    v_min: float = 0.0,
    symmetrise: bool = True,
) -> np.ndarray:
    """Bias positions (V, > 0, ascending) of subharmonic-gap features in a dV/dI or dI/dV curve.

    ``quantity`` "dVdI" (features are maxima by default, as [NECK] plots them) or "dIdV" (minima by
    default, since dI/dV ~ 1/(dV/dI)); ``polarity`` "max", "min" or "both" overrides. With ``symmetrise``
    the curve is averaged with its mirror image y(-V) on the positive bias axis. ``prominence`` (data units)
    defaults to the larger of 6 noise sigmas (from the point-to-point scatter) and 2 % of the data range;
    features below ``v_min`` (e.g. the Josephson/zero-bias region) are ignored. Positions are refined by a
    parabola through the three samples around each extremum.
    """
    return _detect_sgs(V, y, quantity, polarity, prominence, v_min, symmetrise)[0]


def _detect_sgs(V, y, quantity, polarity, prominence, v_min, symmetrise) -> tuple[np.ndarray, np.ndarray]:
    """(positions, prominences) of the features, sorted by position."""
    V = np.asarray(V, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if V.shape != y.shape or V.size < 5:
        raise ValueError("need matching bias and data arrays with at least 5 points")
    ok = np.isfinite(V) & np.isfinite(y)
    V, y = V[ok], y[ok]
    order = np.argsort(V)
    V, y = V[order], y[order]
    if quantity not in ("dVdI", "dIdV"):
        raise ValueError("quantity must be 'dVdI' or 'dIdV'")
    if polarity is None:
        polarity = "max" if quantity == "dVdI" else "min"
    if polarity not in ("max", "min", "both"):
        raise ValueError("polarity must be 'max', 'min' or 'both'")
    pos = V > 0
    if np.count_nonzero(pos) < 5:
        raise ValueError("need at least 5 points at positive bias")
    vp, yp = V[pos], y[pos]
    if symmetrise and V[0] < 0:
        mirror = np.interp(-vp, V, y, left=np.nan, right=np.nan)
        yp = np.where(np.isfinite(mirror), 0.5 * (yp + mirror), yp)
    keep = vp >= v_min
    vp, yp = vp[keep], yp[keep]
    if vp.size < 5:
        return np.empty(0), np.empty(0)
    base = np.polyval(np.polyfit(vp, yp, 2), vp)
    r = yp - base
    if prominence is None:
        # noise from the second difference (insensitive to smooth features): var(d2) = 6 sigma^2
        d2 = np.diff(r, 2)
        sigma = 1.4826 * float(np.median(np.abs(d2 - np.median(d2)))) / math.sqrt(6.0)
        prominence = max(6.0 * sigma, 0.02 * float(np.ptp(yp) or 1.0))
    found: list[tuple[float, float]] = []
    signs = {"max": (1.0,), "min": (-1.0,), "both": (1.0, -1.0)}[polarity]
    for s in signs:
        idx, props = signal.find_peaks(s * r, prominence=prominence)
        for i, prom in zip(idx, props["prominences"], strict=True):
            found.append((_refine(vp, s * r, int(i)), float(prom)))
    found.sort()
    return np.array([f[0] for f in found]), np.array([f[1] for f in found])


def _refine(x: np.ndarray, y: np.ndarray, i: int) -> float:
    if i <= 0 or i >= x.size - 1:
        return float(x[i])
    x0, x1, x2 = x[i - 1 : i + 2]
    y0, y1, y2 = y[i - 1 : i + 2]
    den = (x0 - x1) * (x0 - x2) * (x1 - x2)
    if den == 0:
        return float(x1)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / den
    if a >= 0:
        return float(x1)
    xv = -b / (2 * a)
    return float(xv) if x0 <= xv <= x2 else float(x1)


def assign_sgs(peaks, *, delta: float | None = None, n_max: int = 6, tol: float = 0.08):
    """Assign harmonic numbers n to peak positions (V > 0): returns (n array, Delta estimate in eV).

    With ``delta`` given, n = round(2 Delta/(e V)). Otherwise every peak is tried as every harmonic
    n <= ``n_max``; the candidate Delta that explains the most peaks within relative tolerance ``tol`` (then
    the smallest scatter, then the smallest n for the largest peak) wins. Unassigned peaks get n = 0; when
    two peaks claim the same n the closer one keeps it.
    """
    V = np.asarray(peaks, dtype=float).ravel()
    if V.size == 0:
        return np.zeros(0, dtype=int), math.nan
    if np.any(V <= 0):
        raise ValueError("SGS peak positions must be positive biases (use |V|)")

    def assign(d: float) -> tuple[np.ndarray, float]:
        n = np.rint(2.0 * d / V).astype(int)
        n = np.where((n >= 1) & (n <= n_max), n, 0)
        rel = np.full(V.shape, np.inf)
        good = n > 0
        rel[good] = np.abs(V[good] * n[good] / (2.0 * d) - 1.0)
        n = np.where(rel <= tol, n, 0)
        for k in set(n[n > 0].tolist()):
            same = np.nonzero(n == k)[0]
            if same.size > 1:
                best = same[np.argmin(rel[same])]
                n[same[same != best]] = 0
        score = float(np.sum(rel[n > 0] ** 2))
        return n, score

    if delta is not None:
        n, _ = assign(float(delta))
        return n, float(delta)
    best = None
    for v in V:
        for k in range(1, n_max + 1):
            d = k * v / 2.0
            n, score = assign(d)
            count = int(np.count_nonzero(n))
            # prefer more matches, then lower scatter, then the smaller gap (avoid n-doubling aliases)
            key = (-count, round(score, 6), d)
            if best is None or key < best[0]:
                best = (key, n, d)
    assert best is not None
    return best[1], best[2]


def fit_sgs_delta(peaks, n, *, exclude: tuple[int, ...] = ()) -> tuple[float, float]:
    """Least-squares Delta (eV) and its one-sigma error from positions V_i (V) with harmonics n_i.

    Minimises Sum (V_i - 2 Delta/n_i)^2 over n_i > 0 not in ``exclude``: Delta = Sum V_i c_i / Sum c_i^2
    with c_i = 2/n_i. The error is from the scatter (nan for a single peak).
    """
    V = np.asarray(peaks, dtype=float).ravel()
    n = np.asarray(n, dtype=int).ravel()
    use = (n > 0) & ~np.isin(n, list(exclude))
    if not np.any(use):
        raise ValueError("no assigned SGS peaks to fit")
    c = 2.0 / n[use]
    v = V[use]
    d = float(np.sum(v * c) / np.sum(c * c))
    if v.size < 2:
        return d, math.nan
    res = v - d * c
    s2 = float(np.sum(res**2)) / (v.size - 1)
    return d, math.sqrt(s2 / float(np.sum(c * c)))


def local_temperature(delta_T, delta0, Tc, *, method: str = "interp") -> float:
    """T (K) at which the BCS gap equals ``delta_T`` (eV), given Delta(0) = ``delta0`` and ``Tc`` (K).

    ``method="interp"`` inverts Delta(T) = Delta0 tanh(1.74 sqrt(Tc/T - 1)) in closed form:
    T = Tc / (1 + (atanh(Delta/Delta0)/1.74)^2); ``"exact"`` solves the BCS gap equation (brentq).
    Returns 0 for delta_T >= delta0 (no reduction) and Tc for delta_T <= 0.
    """
    r = float(delta_T) / float(delta0)
    if r >= 1.0:
        return 0.0
    if r <= 0.0:
        return float(Tc)
    if method == "interp":
        return float(Tc) / (1.0 + (math.atanh(r) / 1.74) ** 2)
    if method == "exact":
        from analysis.models.bcs import delta_bcs_exact

        def f(t: float) -> float:
            return float(delta_bcs_exact(t, Tc, delta0)) - float(delta_T)

        return float(optimize.brentq(f, 0.021 * Tc, Tc * (1 - 1e-9), xtol=1e-10))
    raise ValueError("method must be 'interp' or 'exact'")


@dataclass
class SGSResult:
    """Subharmonic gap structure analysis.

    ``peaks`` (V, ascending), their harmonic numbers ``n`` (0 = unassigned), the least-squares gap ``delta``
    and ``delta_err`` (eV), ``heated`` (V_1 < 2 V_2 beyond ``tol``), ``delta_heated`` = e V_1/2 (eV) and the
    local temperature ``T_local`` (K) from Delta(T_loc) = e V_1/2 when heated, else None. With
    ``exclude_heated`` the n = 1 peak is left out of the gap fit when it is heated.
    """

    peaks: np.ndarray
    n: np.ndarray
    delta: float
    delta_err: float
    heated: bool = False
    V1: float | None = None
    V2: float | None = None
    delta_heated: float | None = None
    T_local: float | None = None
    used: list[int] = field(default_factory=list)

    def positions(self, n_max: int = 4) -> np.ndarray:
        return sgs_positions(self.delta, n_max)


def analyse_sgs(
    V,
    y,
    *,
    quantity: str = "dVdI",
    polarity: str | None = None,
    delta: float | None = None,
    n_max: int = 6,
    tol: float = 0.08,
    heating_tol: float = 0.02,
    exclude_heated: bool = True,
    Tc: float = PB_TC,
    prominence: float | None = None,
    v_min: float = 0.0,
) -> SGSResult:
    """Detect SGS features, assign n, fit Delta and diagnose self-heating ([NECK] workflow).

    Heating: flagged when V_1 < (1 - ``heating_tol``) 2 V_2. Then Delta(0) is fitted from the n >= 2
    features (if ``exclude_heated``) and T_loc solves Delta(T_loc) = e V_1/2 (BCS interpolation, ``Tc`` in K,
    Pb 7.2 K by default). Raises ValueError when no feature can be assigned.
    """
    peaks, prom = _detect_sgs(V, y, quantity, polarity, prominence, v_min, True)
    return analyse_sgs_positions(
        peaks,
        prominences=prom,
        delta=delta,
        n_max=n_max,
        tol=tol,
        heating_tol=heating_tol,
        exclude_heated=exclude_heated,
        Tc=Tc,
    )


def analyse_sgs_positions(
    peaks,
    *,
    prominences=None,
    delta: float | None = None,
    n_max: int = 6,
    tol: float = 0.08,
    heating_tol: float = 0.02,
    exclude_heated: bool = True,
    Tc: float = PB_TC,
) -> SGSResult:
    """:func:`analyse_sgs` for already known feature positions (V > 0), optionally with their prominences.

    A heated n = 1 feature can sit well below 2 V_2, outside the assignment tolerance: if no peak was
    assigned n = 1, the most prominent unassigned peak between 1.2 V_2 and 2 V_2 (1 + tol) is taken.
    """
    peaks = np.asarray(peaks, dtype=float).ravel()
    order = np.argsort(peaks)
    peaks = peaks[order]
    prom = np.ones(peaks.size) if prominences is None else np.asarray(prominences, dtype=float).ravel()[order]
    if peaks.size == 0:
        raise ValueError("no subharmonic gap features found")
    n, _ = assign_sgs(peaks, delta=delta, n_max=n_max, tol=tol)
    if not np.any(n > 0):
        raise ValueError("could not assign harmonic numbers to the SGS features")
    V2 = _peak_of(peaks, n, 2)
    if V2 is not None:
        window = (n == 0) & (peaks > 1.2 * V2) & (peaks < 2.0 * V2 * (1.0 + tol))
        cur = np.nonzero(n == 1)[0]
        cand = np.nonzero(window)[0]
        if cand.size and (cur.size == 0 or prom[cand].max() > 2.0 * prom[cur[0]]):
            if cur.size:
                n[cur] = 0
            n[cand[np.argmax(prom[cand])]] = 1
    V1 = _peak_of(peaks, n, 1)
    heated = V1 is not None and V2 is not None and V1 < (1.0 - heating_tol) * 2.0 * V2
    exclude = (1,) if (heated and exclude_heated and np.any(n >= 2)) else ()
    d, derr = fit_sgs_delta(peaks, n, exclude=exclude)
    t_loc = None
    d_heat = None
    if heated and V1 is not None:
        d_heat = V1 / 2.0
        t_loc = local_temperature(d_heat, d, Tc)
    used = sorted({int(k) for k in n if k > 0 and k not in exclude})
    return SGSResult(peaks, n, d, derr, bool(heated), V1, V2, d_heat, t_loc, used)


def _peak_of(peaks: np.ndarray, n: np.ndarray, k: int) -> float | None:
    sel = peaks[n == k]
    return float(sel[0]) if sel.size else None


# ---------------------------------------------------------------------------------------------------
# Excess current
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExcessCurrent:
    """Excess current from straight-line fits I = V/R_N + I_exc sign(V) at |V| >= ``v_fit_min``.

    ``I_exc`` (A) is the mean of the positive-bias intercept and minus the negative-bias one; ``R_N``
    (Ohm) from the mean slope; ``ratio`` = e I_exc R_N/Delta, to compare with
    :data:`EXCESS_CURRENT_REFERENCE` (8/3 ballistic, pi^2/4 - 1 diffusive, 0 tunnel).
    """

    I_exc: float
    R_N: float
    I_exc_pos: float | None
    I_exc_neg: float | None
    ratio: float | None
    v_fit_min: float
    n_points: int


def excess_current(V, I, delta=None, *, v_fit_min: float | None = None, v_fit_max: float | None = None):
    """Excess current of a point contact from its I(V) (V in V, I in A; ``delta`` in eV).

    The fit window is ``v_fit_min`` <= |V| <= ``v_fit_max``; ``v_fit_min`` defaults to 5 Delta/e (needs
    ``delta``). Keep ``v_fit_max`` below the onset of heating. Each bias sign gets its own line; the
    intercepts give I_exc, the slopes 1/R_N.
    """
    V = np.asarray(V, dtype=float).ravel()
    I = np.asarray(I, dtype=float).ravel()
    if V.shape != I.shape:
        raise ValueError("bias and current differ in length")
    if v_fit_min is None:
        if delta is None:
            raise ValueError("give delta (eV) or v_fit_min (V) for the excess-current fit window")
        v_fit_min = 5.0 * abs(float(delta))
    v_hi = math.inf if v_fit_max is None else float(v_fit_max)
    ok = np.isfinite(V) & np.isfinite(I)
    intercepts = {}
    slopes = []
    n_used = 0
    for sgn in (1.0, -1.0):
        sel = ok & (sgn * V >= v_fit_min) & (sgn * V <= v_hi)
        if np.count_nonzero(sel) >= 3:
            k, b = np.polyfit(V[sel], I[sel], 1)
            intercepts[sgn] = sgn * b
            slopes.append(k)
            n_used += int(np.count_nonzero(sel))
    if not slopes:
        raise ValueError(f"fewer than 3 points with |V| >= {v_fit_min:g} V: widen the bias range")
    i_exc = float(np.mean(list(intercepts.values())))
    slope = float(np.mean(slopes))
    rn = 1.0 / slope if slope != 0 else math.inf
    ratio = None
    if delta is not None and float(delta) != 0:
        ratio = i_exc * rn / abs(float(delta))
    return ExcessCurrent(
        i_exc, rn, intercepts.get(1.0), intercepts.get(-1.0), ratio, float(v_fit_min), n_used
    )


# ---------------------------------------------------------------------------------------------------
# Sharvin contact size
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FreeElectron:
    """Free-electron Fermi quantities for electron density ``n`` (1/m^3): k_F (1/m), lambda_F and v_F (SI)."""

    n: float
    k_F: float
    lambda_F: float
    v_F: float


def free_electron(n: float) -> FreeElectron:
    """k_F = (3 pi^2 n)^(1/3), lambda_F = 2 pi/k_F, v_F = hbar k_F/m.

    Pb (13.2e28 m^-3): k_F = 1.575 1/A, lambda_F = 0.399 nm, v_F = 1.82e6 m/s.
    """
    k = (3.0 * math.pi**2 * float(n)) ** (1.0 / 3.0)
    return FreeElectron(float(n), k, 2.0 * math.pi / k, HBAR * k / ELECTRON_MASS)


PB = free_electron(PB_ELECTRON_DENSITY)


@dataclass(frozen=True)
class SharvinContact:
    """Contact size from the Sharvin resistance: area A (m^2), radius a and diameter d = 2a (m), channels.

    ``n_channels`` = (k_F a/2)^2 = G_S/(2e^2/h). Remember: [NECK]'s "d = 6 nm" at 5 Ohm is this radius.
    """

    R_S: float
    lambda_F: float
    area: float
    radius: float
    diameter: float
    n_channels: float


def sharvin_contact(R_S: float, lambda_F: float = PB.lambda_F) -> SharvinContact:
    """Invert R_S = (h/2e^2) lambda_F^2/(pi A) for a circular contact (R_S in Ohm, lambda_F in m).

    A = (h/2e^2) lambda_F^2/(pi R_S); a = sqrt(A/pi) = (lambda_F/pi) sqrt((h/2e^2)/R_S); d = 2a.
    Pb, 5 Ohm: A = 130.7 nm^2, a = 6.45 nm, d = 12.9 nm, about 2580 channels.
    """
    R_S = float(R_S)
    if not R_S > 0:
        raise ValueError("the Sharvin resistance must be positive")
    area = R_SHARVIN * lambda_F**2 / (math.pi * R_S)
    a = math.sqrt(area / math.pi)
    k_f = 2.0 * math.pi / lambda_F
    return SharvinContact(R_S, lambda_F, area, a, 2.0 * a, (k_f * a / 2.0) ** 2)


def sharvin_resistance(radius: float, lambda_F: float = PB.lambda_F) -> float:
    """R_S (Ohm) of a circular contact of ``radius`` (m): (h/2e^2) lambda_F^2/(pi^2 a^2)."""
    return R_SHARVIN * lambda_F**2 / (math.pi * math.pi * float(radius) ** 2)


# ---------------------------------------------------------------------------------------------------
# Charge imbalance and pair breaking
# ---------------------------------------------------------------------------------------------------


def time_from_energy(energy_ev: float) -> float:
    """tau = hbar/E in s for an energy in eV (e.g. hbar/tau_PB = 0.2 kB Tc -> tau_PB)."""
    return HBAR / (float(energy_ev) * E_CHARGE)


def effective_relaxation_time(tau_E: float, tau_PB: float | None = None, *, form: str = "paper") -> float:
    """Inelastic time entering tau_Q* with pair breaking (s).

    ``form="paper"`` ([NECK]): sqrt(tau_E / (2 (1/tau_PB + 1/tau_E))), which tends to tau_E/sqrt(2) as
    tau_PB -> infinity. ``form="corrected"``: sqrt(tau_E / (2/tau_PB + 1/tau_E)), which tends to tau_E.
    ``tau_PB=None`` (no pair breaking) returns tau_E for both forms. tau_E = 2.5e-11 s with
    tau_PB = 5.30e-12 s gives 7.40e-12 s (paper) and 7.74e-12 s (corrected).
    """
    tau_E = float(tau_E)
    if tau_PB is None or math.isinf(tau_PB):
        return tau_E
    tau_PB = float(tau_PB)
    if form == "paper":
        return math.sqrt(tau_E / (2.0 * (1.0 / tau_PB + 1.0 / tau_E)))
    if form == "corrected":
        return math.sqrt(tau_E / (2.0 / tau_PB + 1.0 / tau_E))
    raise ValueError("form must be 'paper' or 'corrected'")


@dataclass(frozen=True)
class ChargeImbalance:
    """Charge-imbalance length Lambda_Q* (m) with D (m^2/s), tau_Q* (s) and the tau_E used (s)."""

    length: float
    D: float
    tau_Q: float
    tau_eff: float


def charge_imbalance_length(
    T: float,
    delta: float,
    tau_E: float,
    mean_free_path: float,
    v_F: float = PB.v_F,
    *,
    tau_PB: float | None = None,
    form: str = "paper",
) -> ChargeImbalance:
    """Lambda_Q* = sqrt(D tau_Q*), D = v_F l/3, tau_Q* = (4/pi)(kB T/Delta) tau_eff (Schmid-Schon, near Tc).

    ``T`` in K, ``delta`` in eV, ``tau_E`` (electron-phonon time) in s, ``mean_free_path`` in m, ``v_F`` in
    m/s. With ``tau_PB`` the pair-breaking substitution of :func:`effective_relaxation_time` is applied
    (``form`` "paper" or "corrected"). [NECK] inputs give 228 nm (the paper's "> 430 nm" is not reproduced).
    """
    if not (delta > 0 and T > 0 and tau_E > 0 and mean_free_path > 0 and v_F > 0):
        raise ValueError("charge-imbalance length needs positive T, delta, tau_E, mean free path and v_F")
    tau = effective_relaxation_time(tau_E, tau_PB, form=form)
    D = v_F * mean_free_path / 3.0
    tau_q = (4.0 / math.pi) * (K_B_EV * T / delta) * tau
    return ChargeImbalance(math.sqrt(D * tau_q), D, tau_q, tau)


def phase_slip_resistance(lambda_q: float, rho_N: float, area: float) -> float:
    """Differential resistance added by one phase-slip centre: about 2 Lambda_Q* rho_N/A (Ohm)."""
    return 2.0 * float(lambda_q) * float(rho_N) / float(area)


# ---------------------------------------------------------------------------------------------------
# Neck in a magnetic field
# ---------------------------------------------------------------------------------------------------


def local_critical_field(r, lambda_L: float = PB_LAMBDA_L, H_c: float = 0.05):
    """H_crit(r) = 4 lambda H_c/r (T) of a thin disk of radius ``r`` (m); ``H_c`` the bulk field (T)."""
    return 4.0 * lambda_L * H_c / np.asarray(r, dtype=float)


def neck_superconducting_length(
    H, *, theta_deg: float = 35.0, lambda_L: float = PB_LAMBDA_L, H_c: float = 0.05, r0: float = 0.0
):
    """Length (m) of the superconducting part of a conical neck in field ``H`` (T, array allowed).

    Cone r(z) = r0 + |z| tan(theta); the part with H_crit(r) > H, i.e. r < 4 lambda H_c/H, is
    L_S = 2 (4 lambda H_c/H - r0)/tan(theta) (0 when negative); r0 -> 0 gives 8 lambda H_c/(H tan theta).
    Pb: lambda = 37 nm, H_c = 0.05 T at 4.2 K, theta = 35 deg. H = 0 gives inf.
    """
    H = np.asarray(H, dtype=float)
    t = math.tan(math.radians(theta_deg))
    with np.errstate(divide="ignore"):
        r_max = np.where(H > 0, 4.0 * lambda_L * H_c / np.where(H > 0, H, 1.0), np.inf)
    out = np.maximum(2.0 * (r_max - r0) / t, 0.0)
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------


class SGSPositions(Model):
    """Subharmonic gap structure positions V_n = 2 Delta/(n e) + V_0 against the harmonic number n.

    Fit the assigned feature positions from :func:`analyse_sgs` (x = n, y = V_n) for Delta with an optional
    bias offset V_0 (fixed at 0 by default).
    """

    name = "sgs_positions"
    title = "Subharmonic gap structure V_n = 2 Delta/(n e)"
    family = "Point contact"
    x_name = "Harmonic n"
    x_unit = ""
    y_name = "Peak bias"
    y_unit = "V"
    params = (
        Param("Delta", "eV", 1.35e-3, 1e-6, 0.1, "superconducting gap of both electrodes"),
        Param("V0", "V", 0.0, -1e-2, 1e-2, "bias offset", vary=False),
    )
    formula = "V_n = 2 Delta/(n e) + V0"
    reference = "Octavio, Tinkham, Blonder, Klapwijk, PRB 27, 6739 (1983); [NECK]"
    has_jacobian = True

    def evaluate(self, x, **p):
        n = np.asarray(x, dtype=float)
        return 2.0 * p["Delta"] / n + p["V0"]

    def example_x(self):
        return np.arange(1.0, 7.0)

    def jacobian_batch(self, x, P):
        n = np.asarray(x, dtype=float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        jac = np.empty((P.shape[0], n.size, 2))
        jac[:, :, 0] = 2.0 / n
        jac[:, :, 1] = 1.0
        return jac

    def guess(self, x, y):
        n = np.asarray(x, dtype=float)
        v = np.asarray(y, dtype=float)
        ok = np.isfinite(n) & np.isfinite(v) & (n > 0)
        d = float(np.median(n[ok] * v[ok] / 2.0)) if np.any(ok) else self.param("Delta").default
        return self.clip_to_bounds({"Delta": abs(d), "V0": 0.0})


class ExcessCurrentLine(Model):
    """High-bias I(V) of a point contact: I = V/R_N + I_exc sign(V) (fit only |V| >> Delta/e)."""

    name = "excess_current_line"
    title = "Point-contact I(V) with excess current"
    family = "Point contact"
    y_name = "Current"
    y_unit = "A"
    params = (
        Param("G_N", "S", 0.2, 0.0, 1e3, "normal-state conductance 1/R_N"),
        Param("I_exc", "A", 0.0, -1.0, 1.0, "excess current"),
    )
    formula = "I = G_N V + I_exc sign(V)"
    reference = "Blonder, Tinkham, Klapwijk, PRB 25, 4515 (1982); [NECK]"
    has_jacobian = True
    contract_values = {"G_N": 0.2, "I_exc": 3e-4}

    def example_x(self):
        return np.concatenate([np.linspace(-20e-3, -7e-3, 50), np.linspace(7e-3, 20e-3, 50)])

    def evaluate(self, x, **p):
        V = np.asarray(x, dtype=float)
        return p["G_N"] * V + p["I_exc"] * np.sign(V)

    def jacobian_batch(self, x, P):
        V = np.asarray(x, dtype=float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        jac = np.empty((P.shape[0], V.size, 2))
        jac[:, :, 0] = V
        jac[:, :, 1] = np.sign(V)
        return jac

    def guess(self, x, y):
        V = np.asarray(x, dtype=float)
        I = np.asarray(y, dtype=float)
        A = np.column_stack([V, np.sign(V)])
        ok = np.isfinite(V) & np.isfinite(I)
        if np.count_nonzero(ok) < 2:
            return self.defaults()
        (g, i0), *_ = np.linalg.lstsq(A[ok], I[ok], rcond=None)
        return self.clip_to_bounds({"G_N": g, "I_exc": i0})


MODELS = [SGSPositions, ExcessCurrentLine]
