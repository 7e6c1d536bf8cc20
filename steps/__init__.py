"""Step types: one module each, behind the interface in `steps.base`."""
