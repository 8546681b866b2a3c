"""Model specs, bundled weights and the registry of trained versions."""
