"""Upstream identity providers for federated sign-in tests."""
