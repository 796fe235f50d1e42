"""Topography tools: line profiles with width averaging and step heights, and levelling of height maps.

Qt-free. Arrays are (ny, nx) height maps in metres, row ``iy`` being one scan line (row 0 the lowest line
of the frame, see :class:`analysis.dataset.Frame`).
"""
