"""Benchmarks run as ``giaoban bench ...``: they print figures and write a JSON and a Markdown report."""
