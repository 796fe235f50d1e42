"""P(E) theory: inelastic tunnelling through an electromagnetic environment, Cooper-pair current.

Ingold & Nazarov (cond-mat/0508728)::

    P(E) = (1/(2 pi hbar)) Integral dt exp[J(t) + i E t/hbar]
    J(t) = 2 Integral_0^inf (dw/w) (Re Z_t(w)/R_Q) { coth(hbar w/2kT) [cos(wt) - 1] - i sin(wt) }
    Z_t(w) = 1/(i w C + 1/Z(w))
    I_CP(V) = (pi e E_J^2/hbar) [P(2eV) - P(-2eV)]                 (lowest order in E_J)

R_Q = h/4e^2 for Cooper pairs (``charge=2``) and R_K = h/e^2 for quasiparticles (``charge=1``).

Environment (:class:`Environment`): an ohmic lead R (> 0) shunted by the junction capacitance C (> 0),
optionally in series with one parallel-LCR mode (an antenna or transmission-line resonance) of peak
resistance R_m, frequency f_0 and quality factor Q: Z(w) = R + R_m/(1 + i Q (w/w_0 - w_0/w)).

Numerics. Writing J(t) = Integral_{-inf}^{inf} dw S(w) (exp(-iwt) - 1) with
S(w) = (2 Re Z_t(w)/R_Q)/(w (1 - exp(-hbar w/kT))), the low-frequency singularity
S ~ 2 rho_0/(R_Q) [kT/(hbar w^2) + 1/(2w)] (rho_0 = Re Z_t(0) = R) is subtracted with the weight
g(w) = w_c^2/(w^2 + w_c^2), w_c = min(1/RC, a tenth of the grid's Nyquist frequency), and integrated
in closed form:

    J_sing(t) = (2 rho_0/R_Q) [ (kT/hbar)(-pi|t| - (pi/w_c)(exp(-w_c|t|) - 1))
                                - (i pi/2) sgn(t)(1 - exp(-w_c|t|)) ]

The remainder is smooth; it is integrated by one FFT on the w grid reciprocal to the t grid (its weight
beyond the Nyquist frequency enters as a constant), and P(E) follows from a second FFT of exp(J(t)).
At long times J tends to an ohmic asymptote whose transform is done in closed form (see
:func:`pe_distribution`), so the t grid only has to span a few hbar/kT, RC and Q/w_0 even at mK
temperatures. The energy window is 10 pi max(kT, E_C', h f_0) by default (``e_max`` widens it);
T must be > 0.

Checks (tests): Integral P = 1; detailed balance P(-E) = exp(-E/kT) P(E); first moment E_C' = (2e)^2/(2C);
high-T Lorentzian of half-width gamma = 2 pi R kT/R_Q, whose Cooper-pair current is the small-x IZ
Lorentzian with V_p = gamma/2e, up to the renormalisation (E_J*/E_J)^2 (:func:`ej_renormalisation`); the
classical capacitive Gaussian for R >> R_Q.

Use IZ (:mod:`analysis.models.josephson`) when kT_eff >> E_C' and Re Z << R_Q; P(E) for mK temperatures or
structured environments (Jack et al., arXiv:1712.07172; Ast et al., Nat. Commun. 7, 13009 (2016)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from analysis.constants import E_CHARGE, EULER_GAMMA, HBAR, K_B, R_K, R_Q_PAIRS
from analysis.models.base import Model, Param

MAX_POINTS = 1 << 22
_DECAY = 45.0


@dataclass(frozen=True)
class Environment:
    """Electromagnetic environment seen by the junction (SI units).

    ``R`` ohmic lead resistance (Ohm, > 0), ``C`` junction capacitance (F, > 0), ``T`` temperature (K, > 0),
    optional mode: ``mode_R`` peak resistance (Ohm), ``mode_f`` frequency (Hz), ``mode_Q`` quality factor.
    """

    R: float
    C: float
    T: float
    mode_R: float = 0.0
    mode_f: float = 0.0
    mode_Q: float = 10.0

    def __post_init__(self) -> None:
        for name in ("R", "C", "T"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"P(E) needs {name} > 0 (got {v!r})")
        if self.mode_R < 0 or self.mode_f < 0 or not self.mode_Q > 0:
            raise ValueError("the LC mode needs mode_R >= 0, mode_f >= 0 and mode_Q > 0")

    @property
    def has_mode(self) -> bool:
        return self.mode_R > 0 and self.mode_f > 0

    def z(self, w: np.ndarray) -> np.ndarray:
        """Lead impedance Z(w) (Ohm) at angular frequencies ``w`` (rad/s), complex."""
        w = np.asarray(w, dtype=float)
        z = np.full(w.shape, self.R, dtype=complex)
        if self.has_mode:
            w0 = 2.0 * math.pi * self.mode_f
            aw = np.where(w == 0, 1e-300, np.abs(w))
            detune = aw / w0 - w0 / aw
            zm = self.mode_R / (1.0 + 1j * self.mode_Q * detune)
            zm = np.where(w < 0, np.conj(zm), zm)
            z = z + np.where(w == 0, 0.0, zm)
        return z

    def re_zt(self, w: np.ndarray) -> np.ndarray:
        """Re Z_t(w) (Ohm), Z_t = 1/(i w C + 1/Z): the impedance seen from the junction; even in w."""
        w = np.asarray(w, dtype=float)
        z = self.z(np.abs(w))
        return np.real(z / (1.0 + 1j * np.abs(w) * self.C * z))

    @property
    def charging_energy(self) -> float:
        """E_C' = (2e)^2/(2C) in eV (the Cooper-pair charging energy)."""
        return 2.0 * E_CHARGE / self.C


def ej_renormalisation(R, C, T) -> float:
    """E_J*/E_J = exp{-(R/R_Q)[psi(1 + hbar/(2 pi R C kT)) + gamma_E]} for an ohmic RC environment."""
    arg = 1.0 + HBAR / (2.0 * math.pi * R * C * K_B * T)
    return math.exp(-(R / R_Q_PAIRS) * (float(special.digamma(arg)) + EULER_GAMMA))


def lorentzian_width(R, T, charge: int = 2) -> float:
    """High-T half-width gamma = 2 pi R kT/R_Q of P(E) in eV (R_Q = h/4e^2 for pairs, h/e^2 for charge 1)."""
    rq = R_Q_PAIRS if charge == 2 else R_K
    return 2.0 * math.pi * R * K_B * T / rq / E_CHARGE


def _j_singular(t: np.ndarray, rho0: float, wc: float, a: float, rq: float) -> np.ndarray:
    """Closed-form part of J(t) (dimensionless), see the module docstring; a = hbar/kT."""
    at = np.abs(t)
    em = -np.expm1(-wc * at)  # 1 - exp(-wc|t|)
    real = (2.0 * rho0 / (rq * a)) * (-math.pi * at + (math.pi / wc) * em)
    imag = -(rho0 / rq) * math.pi * np.sign(t) * em
    return real + 1j * imag


def _default_window(env: Environment, rq: float) -> float:
    """Default half-width of the energy grid in J: 10 pi times the largest of kT, E_C' and h f_0.

    The RC roll-off hbar/RC is not a scale of the window: above the window P(E) only has its 1/E^3 tail,
    whose weight is removed consistently (:func:`_s_reg_tail`). Pass ``e_max`` to resolve it.
    """
    kt = K_B * env.T
    ec = (E_CHARGE * (2 if rq == R_Q_PAIRS else 1)) ** 2 / (2.0 * env.C)
    scales = [kt, ec]
    if env.has_mode:
        scales.append(HBAR * 2.0 * math.pi * env.mode_f)
    return 10.0 * math.pi * max(scales)


def _split_cutoff(env: Environment, dt: float) -> float:
    """Cutoff w_c (rad/s) of the subtracted singular part: 1/RC, but at most a tenth of the Nyquist frequency.

    Any w_c is exact in principle (the remainder takes the difference); keeping it well inside the band
    stops the closed-form J_sing from aliasing high-frequency weight into the energy window.
    """
    return min(1.0 / (env.R * env.C), 0.1 * math.pi / dt)


def _s_reg(w: np.ndarray, env: Environment, a: float, wc: float, rq: float) -> np.ndarray:
    """Regular remainder S_reg(w) (s) of the J(t) integrand, for w != 0 (see the module docstring)."""
    w = np.asarray(w, dtype=float)
    rho = env.re_zt(w)
    g = wc * wc / (w * w + wc * wc)
    aw = a * w
    # 1/(w (1 - exp(-a w))) - [1/(a w^2) + 1/(2 w)], written without cancellation for small a w
    small = np.abs(aw) < 1e-2
    with np.errstate(over="ignore"):
        bose = np.where(small, 0.0, 1.0 / (w * -np.expm1(-np.where(small, 1.0, aw))))
    sing = 1.0 / (a * w * w) + 0.5 / w
    series = a / 12.0 - a**3 * w * w / 720.0
    reg = np.where(small, series, bose - sing)
    return (2.0 / rq) * ((rho - env.R * g) * sing + rho * reg)


def _s_reg_tail(W: float, env: Environment, a: float, wc: float, rq: float) -> float:
    """Integral of S_reg over |w| > W (dimensionless), on a logarithmic grid up to 1e8 W."""
    u = np.linspace(math.log(W), math.log(W) + math.log(1e8), 4001)
    w = np.exp(u)
    f = (_s_reg(w, env, a, wc, rq) + _s_reg(-w, env, a, wc, rq)) * w
    return float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(u)))


def _time_grid(env: Environment, rq: float, e_top: float, n: int | None) -> tuple[float, int, bool]:
    """(dt, N, subtract) for the FFT: dt = pi hbar/e_top; N dt covers what has to be transformed.

    When exp(Re J) lives longer than J(t) takes to reach its asymptote (a few hbar/kT, RC and Q/w_0), the
    asymptotic part is subtracted and transformed in closed form (``subtract`` True) and the grid only spans
    the settling time; otherwise (high impedance, classical capacitive regime) it spans the decay of
    exp(Re J) to e^-45 and everything is transformed numerically.
    """
    dt = math.pi * HBAR / e_top
    a = HBAR / (K_B * env.T)
    wc = 1.0 / (env.R * env.C)
    # decay time of exp(Re J_sing) (monotonic in |t|), by doubling then bisection
    lo, hi = 0.0, dt
    while float(np.real(_j_singular(np.array([hi]), env.R, wc, a, rq))[0]) > -_DECAY and hi < 1.0:
        lo, hi = hi, 2.0 * hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float(np.real(_j_singular(np.array([mid]), env.R, wc, a, rq))[0]) > -_DECAY:
            lo = mid
        else:
            hi = mid
    settle = max(16.0 * a, 40.0 / _split_cutoff(env, dt))
    if env.has_mode:
        settle = max(settle, 80.0 * env.mode_Q / (2.0 * math.pi * env.mode_f))
    subtract = settle < hi
    span = 2.0 * (settle if subtract else hi)
    if n is None:
        n = 1 << max(int(math.ceil(math.log2(span / dt))), 10)
        if n > MAX_POINTS:
            raise ValueError(
                f"P(E) would need {n} time points for this environment (T too low for the energy "
                f"window); raise T or lower e_max"
            )
        # zero-pad (exact once exp(J) has settled) so that the energy step is below kT/16
        fine = 1 << int(math.ceil(math.log2(16.0 * 2.0 * math.pi * a / dt)))
        n = max(n, min(fine, MAX_POINTS))
    n = int(n)
    if n > MAX_POINTS:
        raise ValueError(f"P(E) needs n <= {MAX_POINTS} points, got {n}")
    return dt, n, subtract


@dataclass(frozen=True)
class PDistribution:
    """P(E) as a smooth part on an FFT grid plus the closed-form ohmic line; call it with E in eV.

    ``E`` (N,) grid in eV (ascending, the window [-e_max, e_max)), ``smooth`` (N,) in 1/eV. The line is the
    transform of the asymptote B exp(-Gamma|t| - i phi sgn t) summed over the same time lattice (step
    ``dt`` in s) as the smooth part, so that both share one periodicity and nothing aliases:
    (B dt/(2 pi hbar)) [cos phi + 2 Re(exp(-i phi) q/(1 - q))], q = exp(-Gamma dt + i E dt/hbar). For
    dt -> 0 it is the shifted Lorentzian (B/pi)(gamma cos phi + E sin phi)/(gamma^2 + E^2) of half-width
    ``gamma`` = hbar Gamma (eV) = 2 pi R kT/R_Q. B = 0 when the asymptote is not used. P = 0 outside the
    window.
    """

    E: np.ndarray
    smooth: np.ndarray
    B: float
    gamma: float
    phi: float
    dt: float

    @property
    def dE(self) -> float:
        return float(self.E[1] - self.E[0])

    @property
    def e_max(self) -> float:
        return -float(self.E[0])

    def lorentzian(self, E) -> np.ndarray:
        """The ohmic line (1/eV) at energies ``E`` (eV), lattice-summed (see the class docstring)."""
        E = np.asarray(E, dtype=float)
        if self.B == 0.0:
            return np.zeros(E.shape)
        gdt = self.gamma * E_CHARGE / HBAR * self.dt
        theta = E * E_CHARGE * self.dt / HBAR
        z = -gdt + 1j * theta
        ratio = np.exp(z) / (-np.expm1(z))  # q/(1 - q)
        lattice = math.cos(self.phi) + 2.0 * np.real(np.exp(-1j * self.phi) * ratio)
        return self.B * self.dt / (2.0 * math.pi * HBAR) * lattice * E_CHARGE

    def lorentzian_derivative(self, E) -> np.ndarray:
        """d/dE of :meth:`lorentzian` in 1/eV^2."""
        E = np.asarray(E, dtype=float)
        if self.B == 0.0:
            return np.zeros(E.shape)
        gdt = self.gamma * E_CHARGE / HBAR * self.dt
        scale = E_CHARGE * self.dt / HBAR  # d theta/dE (1/eV)
        z = -gdt + 1j * E * scale
        one_minus_q = -np.expm1(z)
        d_ratio = np.exp(z) / (one_minus_q * one_minus_q)  # d/dz [q/(1 - q)]
        d_lattice = 2.0 * np.real(np.exp(-1j * self.phi) * 1j * d_ratio) * scale
        return self.B * self.dt / (2.0 * math.pi * HBAR) * d_lattice * E_CHARGE

    def __call__(self, E) -> np.ndarray:
        E = np.asarray(E, dtype=float)
        inside = np.abs(E) <= self.e_max
        out = np.interp(E, self.E, self.smooth, left=0.0, right=0.0) + self.lorentzian(E)
        return np.where(inside, out, 0.0)

    def weight(self) -> float:
        """Integral of P over all E: the smooth part on its window plus the whole Lorentzian (B cos phi)."""
        return float(np.sum(self.smooth) * self.dE) + self.B * math.cos(self.phi)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """(E, P) on the FFT grid merged with a fine grid (gamma/20) over +-20 gamma around zero."""
        E = self.E
        if self.B != 0.0 and self.gamma < 20.0 * self.dE:
            fine = np.linspace(-20.0 * self.gamma, 20.0 * self.gamma, 801)
            E = np.union1d(E, fine)
        return E, self(E)


def pe_distribution(env: Environment, *, charge: int = 2, e_max: float | None = None, n: int | None = None):
    """P(E) of the environment as a :class:`PDistribution` (call it with energies in eV; P in 1/eV).

    ``charge`` 2 for Cooper pairs (R_Q = h/4e^2), 1 for quasiparticles (R_K = h/e^2). ``e_max`` (eV) is the
    half-width of the energy grid; the default is 10 pi times the largest of kT, E_C' and h f_0.
    A smaller window is faster (the weight above it, mostly the 1/E^3 tail beyond hbar/RC, is then missing);
    ``n`` overrides the number of points (a power of two is fastest).

    Method: J = J_sing + J_reg (module docstring). For |t| >> hbar/kT, RC, J(t) tends to
    J_asym = J_reg(inf) + Gamma (1/w_c - |t|) - i phi sgn(t) with Gamma = 2 pi rho_0 kT/(R_Q hbar) and
    phi = pi rho_0/R_Q. Only exp(J) - exp(J_asym) is transformed by FFT; exp(J_asym) is summed over the
    infinite time lattice in closed form (:class:`PDistribution`), so the t grid need not cover the slow
    ohmic decay at low T and the 1/E^2 tails of the line do not alias. Integral P dE = exp(J(0)) = 1 up to
    the weight outside the window.
    """
    if charge not in (1, 2):
        raise ValueError("charge must be 1 (quasiparticles) or 2 (Cooper pairs)")
    rq = R_Q_PAIRS if charge == 2 else R_K
    e_top = _default_window(env, rq) if e_max is None else float(e_max) * E_CHARGE
    if not (math.isfinite(e_top) and e_top > 0):
        raise ValueError(f"e_max must be a positive energy in eV, got {e_max!r}")
    dt, N, subtract = _time_grid(env, rq, e_top, n)
    a = HBAR / (K_B * env.T)
    wc = _split_cutoff(env, dt)
    rho0 = env.R
    k = np.fft.fftfreq(N, d=1.0 / N)  # 0, 1, ..., N/2-1, -N/2, ..., -1
    t = k * dt
    dw = 2.0 * math.pi / (N * dt)
    w = k * dw
    # regular remainder S_reg(w) on the w grid (the w = 0 sample never contributes: exp(0) - 1 = 0)
    s_reg = _s_reg(np.where(w == 0, dw, w), env, a, wc, rq)
    s_reg[0] = 0.0
    # J_reg(t_k) = sum_m dw S_m (exp(-i w_m t_k) - 1) - (weight of S_reg beyond the Nyquist frequency)
    tail = _s_reg_tail(math.pi / dt, env, a, wc, rq)
    j_reg = dw * (np.fft.fft(s_reg) - s_reg.sum()) - tail
    J = j_reg + _j_singular(t, rho0, wc, a, rq)
    J[0] = -tail
    x = np.exp(J)
    B = gam = phi = 0.0
    if subtract:
        # asymptote B exp(-Gamma |t| - i phi sgn t), J_reg(inf) read off the end of the grid
        gam = 2.0 * math.pi * rho0 / (rq * a)  # 1/s
        phi = math.pi * rho0 / rq
        log_b = float(np.real(j_reg[N // 2])) + gam / wc
        B = math.exp(log_b)
        e_asym = np.exp(log_b - gam * np.abs(t) - 1j * phi * np.sign(t))
        e_asym[0] = B * math.cos(phi)  # mid-point of the sgn jump at t = 0
        x = x - e_asym
    # P(E_j) = (1/(2 pi hbar)) sum_k dt x_k exp(i E_j t_k/hbar),  E_j t_k/hbar = 2 pi j k/N
    P = (dt / (2.0 * math.pi * HBAR)) * N * np.fft.ifft(x)
    P = np.real(np.fft.fftshift(P)) * E_CHARGE  # 1/eV
    dE = 2.0 * math.pi * HBAR / (N * dt) / E_CHARGE
    E = np.fft.fftshift(np.fft.fftfreq(N, d=1.0 / N)) * dE
    E.setflags(write=False)
    P.setflags(write=False)
    return PDistribution(E, P, B, gam * HBAR / E_CHARGE, phi, dt)


def pe_spectrum(env: Environment, *, charge: int = 2, e_max: float | None = None, n: int | None = None):
    """(E in eV, P in 1/eV) ascending arrays: :func:`pe_distribution` evaluated on its grid (see ``grid``)."""
    return pe_distribution(env, charge=charge, e_max=e_max, n=n).grid()


@lru_cache(maxsize=16)
def _cached_distribution(R, C, T, mode_R, mode_f, mode_Q, charge, e_max):
    env = Environment(R, C, T, mode_R, mode_f, mode_Q)
    rq = R_Q_PAIRS if charge == 2 else R_K
    window = _default_window(env, rq) / E_CHARGE
    return pe_distribution(env, charge=charge, e_max=max(window, e_max or 0.0))


def _distribution_for(env: Environment, charge: int, E) -> PDistribution:
    E = np.asarray(E, dtype=float)
    need = float(np.max(np.abs(E))) * 1.05 if E.size else None
    key = (env.R, env.C, env.T, env.mode_R, env.mode_f, env.mode_Q)
    return _cached_distribution(*key, charge, _round_up(need))


def pe_function(E, env: Environment, *, charge: int = 2):
    """P(E) in 1/eV at energies ``E`` (eV, any shape); distributions are cached per environment."""
    return _distribution_for(env, charge, E)(E)


def _round_up(x: float | None) -> float | None:
    """Round an energy window up to 1, 2 or 5 x 10^k so that the cache is hit for similar requests."""
    if not x or not math.isfinite(x) or x <= 0:
        return None
    p = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * p >= x:
            return m * p
    return 10.0 * p


def cooper_pair_current(V, E_J, env: Environment):
    """I_CP(V) = (pi e E_J^2/hbar)[P(2eV) - P(-2eV)] in A for bias ``V`` (V) and E_J in eV."""
    V = np.asarray(V, dtype=float)
    ej = float(E_J) * E_CHARGE
    dist = _distribution_for(env, 2, 2.0 * V)
    # P in 1/eV -> 1/J
    return (math.pi * E_CHARGE * ej * ej / HBAR) * (dist(2.0 * V) - dist(-2.0 * V)) / E_CHARGE


def cooper_pair_conductance(V, E_J, env: Environment):
    """dI_CP/dV in S: (2 pi e^2 E_J^2/hbar)[P'(2eV) + P'(-2eV)] (Lorentzian part differentiated exactly)."""
    V = np.asarray(V, dtype=float)
    ej = float(E_J) * E_CHARGE
    dist = _distribution_for(env, 2, 2.0 * V)
    d_smooth = np.gradient(dist.smooth, dist.E)  # 1/eV^2

    def dp(E):
        out = np.interp(E, dist.E, d_smooth, left=0.0, right=0.0) + dist.lorentzian_derivative(E)
        return np.where(np.abs(E) <= dist.e_max, out, 0.0)

    # dI/dV = (pi e E_J^2/hbar) 2e [P'(2eV) + P'(-2eV)] with P' in 1/J^2 = (P' in 1/eV^2)/e^2
    return (math.pi * E_CHARGE * ej * ej / HBAR) * 2.0 * (dp(2.0 * V) + dp(-2.0 * V)) / E_CHARGE


_PE_PARAMS = (
    Param("E_J", "eV", 2e-6, 0.0, 1e-3, "Josephson energy (hbar Ic/2e; 2.054 ueV per nA)"),
    Param("R", "Ohm", 100.0, 1.0, 1e6, "ohmic environment resistance"),
    Param("C", "F", 5e-15, 1e-16, 1e-12, "junction capacitance", vary=False),
    Param("T", "K", 1.0, 0.05, 1e3, "temperature of the environment"),
    Param("mode_R", "Ohm", 0.0, 0.0, 1e4, "peak resistance of an LC mode (0 = none)", vary=False),
    Param("mode_f", "Hz", 0.0, 0.0, 1e12, "frequency of the LC mode", vary=False),
    Param("mode_Q", "", 10.0, 0.5, 100.0, "quality factor of the LC mode", vary=False),
)


def _env(p) -> Environment:
    return Environment(p["R"], p["C"], p["T"], p["mode_R"], p["mode_f"], p["mode_Q"])


class _CooperPairModel(Model):
    """P(E) Cooper-pair models of (E_J, R, C, T, optional LC mode), shown on a -60..60 uV bias axis."""

    family = "Josephson"
    params = _PE_PARAMS
    contract_recover = ("T",)  # E_J^2, R and T are nearly degenerate in the ohmic line, as in IZ

    def example_x(self):
        return np.linspace(-60e-6, 60e-6, 241)


class CooperPairCurrent(_CooperPairModel):
    """Cooper-pair current from P(E) theory, lowest order in E_J, ohmic RC environment (+ optional LC mode).

    I_CP(V) = (pi e E_J^2/hbar)[P(2eV) - P(-2eV)], P(E) by FFT of exp(J(t)). In the classical regime
    (kT >> E_C', R << R_Q) this is the small-x Ivanchenko-Zil'berman Lorentzian times (E_J*/E_J)^2.
    """

    name = "pe_cooper_pair_current"
    title = "P(E) Cooper-pair current"
    y_name = "Current"
    y_unit = "A"
    formula = "I = (pi e E_J^2/hbar) [P(2eV) - P(-2eV)],  P(E) = (1/2 pi hbar) Int dt exp[J(t) + iEt/hbar]"
    reference = "Ingold & Nazarov, cond-mat/0508728; Jack et al., arXiv:1712.07172"

    def evaluate(self, x, **p):
        return cooper_pair_current(x, p["E_J"], _env(p))

    def guess(self, x, y):
        """High-T Lorentzian estimate: peak at V_p = gamma/2e, height from E_J."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        out = self.defaults()
        pos = x > 0
        if np.any(pos) and np.any(np.abs(y[pos]) > 0):
            k = int(np.argmax(np.abs(y[pos])))
            vp = float(x[pos][k])
            imax = float(abs(y[pos][k]))
            R = out["R"]
            T = HBAR * vp / (2.0 * E_CHARGE * K_B * R)
            # I_max = Ic^2 R/(4 V_p) with Ic = 2e E_J/hbar
            ic = math.sqrt(4.0 * vp * imax / R)
            out.update(T=T, E_J=HBAR * ic / (2.0 * E_CHARGE) / E_CHARGE)
        return self.clip_to_bounds(out)


class CooperPairConductance(_CooperPairModel):
    """dI/dV of the P(E) Cooper-pair current (derivative of the interpolated P on its FFT grid)."""

    name = "pe_cooper_pair_conductance"
    title = "P(E) Cooper-pair dI/dV"
    y_name = "dI/dV"
    y_unit = "S"
    formula = "G = (2 pi e^2 E_J^2/hbar) [P'(2eV) + P'(-2eV)]"
    reference = CooperPairCurrent.reference

    def evaluate(self, x, **p):
        return cooper_pair_conductance(x, p["E_J"], _env(p))

    def guess(self, x, y):
        x = np.asarray(x, float)
        order = np.argsort(x)
        xs, ys = x[order], np.asarray(y, float)[order]
        current = np.concatenate([[0.0], np.cumsum(0.5 * (ys[1:] + ys[:-1]) * np.diff(xs))])
        current -= np.interp(0.0, xs, current)
        return CooperPairCurrent().guess(xs, current)


MODELS = [CooperPairCurrent, CooperPairConductance]
