"""Imaging problems: image-valued unknowns (CT, MRI, seismic)."""
