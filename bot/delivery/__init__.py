"""Delivery: when nudges are due, and getting them to users through rate limits and faults."""
