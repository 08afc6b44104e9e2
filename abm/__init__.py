"""abm — resolve Japanese B2B sales records into accounts and persons, map buying committees,
flag 社内バッティング (internal collisions) and missing key persons."""

__version__ = "0.1.0"
