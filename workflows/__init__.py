"""The request lifecycle and the SLA maths: pure Python, no Flask and no database.

The portal drives this package; nothing here imports ``portal``.
"""
