"""Telling operators: the email digest, the Prometheus textfile and systemd's readiness
notification."""
