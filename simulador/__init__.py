"""Event simulator: sends economic-indicator events to Kinesis and tails the stream.

Usage: python -m simulador send --stream NAME ... | python -m simulador tail --stream NAME ...
A separate program from lambdas/: the contract is docs/DESIGN.md, the reference data is datos/.
"""
