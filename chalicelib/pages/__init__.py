"""The run pages under ``/ui/`` (docs/pages.md): sessions, permissions, rendering, the chart.

The handler is ``chalicelib/api/pages.py``; everything here takes values and returns values,
apart from ``keys.py`` (local mode's key file) and ``views.py`` (reads the stores it is
handed).
"""
