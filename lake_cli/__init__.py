"""The operator's CLI, `lake` (cli.py): query, report, dashboard, redrive, aggregate and api over a deployed stack.

Installed with the project (`pip install -e .`, which `make setup` runs): it reads the stack's Terraform
outputs and no file of the source tree, so it runs from any folder. Developer tooling (packaging, the
emulator, the demo, benchmarks, pins) stays in tools/.
"""
