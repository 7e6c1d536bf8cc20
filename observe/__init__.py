"""Observability: health checks, Prometheus metrics, structured logs with a request id, and the audit trail."""
