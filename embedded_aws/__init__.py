"""Embedded AWS emulator for machines without Docker: moto's server plus a local Lambda runtime.

A local stand-in for LocalStack, not a replacement for AWS. See README.md, "Emulators".
"""
