"""A graph node as a VM program run: memory layout, header, start and end states (SPEC §4)."""
