"""The flow language: models of flows.yaml, loading and checks, compiling to state machines, runs."""
