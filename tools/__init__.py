"""Build, demo and benchmark helpers (not deployed)."""
