"""Lattice analyses of topographs and grids: Fourier transforms and QPI, Bragg peaks, symmetrisation,
Lawler-Fujita drift correction and cross-correlation alignment.

Qt-free. Real-space lengths are metres; reciprocal-space coordinates ``q`` are in cycles per metre (1/m,
so a lattice of period ``a`` gives a peak at ``|q| = 1/a``) unless a function says it uses radians per
metre (2 pi/m). Images are ``(ny, nx)`` arrays indexed ``[iy, ix]``; grids are ``(ny, nx, nb)`` cubes.
"""
