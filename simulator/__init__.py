"""A stand-in CyberArk Identity tenant for tests, demos and benchmarks (never part of the BFF image).

Start it with ``python -m simulator --port 9001`` or build it in-process with
:func:`simulator.app.create_app`; the protocol and the ``/_sim/`` test controls are described in README.md.
"""
