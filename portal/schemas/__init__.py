"""JSON Schemas kept in the repository (read with importlib.resources)."""
