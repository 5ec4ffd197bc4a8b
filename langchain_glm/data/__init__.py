"""Static data shipped with the package (model profiles)."""
