"""Statistics for MRMC reader studies: pure functions over pandas/numpy tables.

No Qt, torch or database; never imports :mod:`readerstudy`.
"""
