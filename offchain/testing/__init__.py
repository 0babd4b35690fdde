"""Dishonest players, for tests and demos only (`opml serve|watch --dishonest`, `opml demo`).

Each is an honest solver given a lying trace, or a solver subclass that overrides one honest
rule; the honest agents never import this package (tests/test_layers.py: it sits above agents),
so no lie can leak into what `opml serve` and `opml watch` play by default.
"""
