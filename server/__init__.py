"""Composition: settings, the application factory and the `gatehouse` command."""
