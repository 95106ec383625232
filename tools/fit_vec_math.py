#!/usr/bin/env python3
"""Prints the f32 polynomial coefficients of erf_f32 in runtime/cpu/vec_math.h.

Each polynomial is a least-squares fit of relative error on Chebyshev nodes, with the true values from mpmath at 40
digits. The coefficients are rounded to f32 one at a time from the constant term up, and the remaining ones are
refitted after each rounding, so the later terms absorb the earlier roundings (rounding them all at once costs more
than an ulp). Run with the fixtures venv (numpy, mpmath); tests/ops/test_vec_math.cpp checks the result.
"""
import mpmath
import numpy as np

mpmath.mp.dps = 40


def fit(f, lo, hi, degree, center=0.0, offset=0.0, nodes=3000):
    """Coefficients c (f32) of f(x) - offset ~ sum c[i] (x - center)^i on [lo, hi], weighting f's relative error."""
    k = np.arange(nodes)
    x = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / nodes)
    exact = [f(mpmath.mpf(float(v))) for v in x]
    y = np.array([float(v) for v in exact])
    target = np.array([float(v - offset) for v in exact])
    basis = np.vander(x - center, degree + 1, increasing=True)
    fixed = []
    for i in range(degree + 1):
        rest = target - (basis[:, :i] @ np.array(fixed) if fixed else 0.0)
        c, *_ = np.linalg.lstsq(basis[:, i:] / y[:, None], rest / y, rcond=None)
        fixed.append(float(np.float32(c[0])))
    return fixed


def erf_over_a(t):
    """erf(a) / a as a function of t = a^2."""
    return mpmath.erf(mpmath.sqrt(t)) / mpmath.sqrt(t) if t > 0 else 2 / mpmath.sqrt(mpmath.pi)


def main():
    small = fit(erf_over_a, 0.0, 1.0, 7, offset=1.0)
    large = fit(lambda a: mpmath.erfc(a) * mpmath.exp(a * a), 1.0, 4.0, 12, center=2.5)
    for name, c in (("P (|x| < 1, in x^2, minus 1)", small), ("Q (|x| >= 1, in |x| - 2.5)", large)):
        print(name + ", highest degree first:")
        print(", ".join(float(v).hex() for v in reversed(c)))


if __name__ == "__main__":
    main()
