"""Telling operators: the email digest and the Prometheus textfile."""
