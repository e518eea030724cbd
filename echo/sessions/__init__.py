"""One live audio session and its rules: limits, counters, levels.

Pure: no Django, no I/O.
"""
