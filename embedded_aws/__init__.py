"""Embedded AWS emulator for machines without Docker: moto's server plus a local Lambda runtime.

A local stand-in for LocalStack, not a replacement for AWS. See README.md, "Emulators".

Files, and what each one owns (imports go down this list, never up, and never across parts):
- __main__.py: the command line (serve, up, down, status).
- emulator.py: the facade, EmbeddedAWS: the HTTP server, and the parts below, created here and
  handed the narrow callables they need.
- hooks.py: everything that touches moto's internals (patches, state, the compatibility check).
- runtime.py: Lambda functions run in warm local worker processes (worker_bootstrap.py runs inside them).
- kinesis_poller.py: Kinesis event source mappings.
- async_invoker.py: asynchronous invocations, with retries and on-failure destinations.
- scheduler.py: rate() schedules of EventBridge rules.
- function_urls.py: Function URLs, served on the emulator's port.
- model.py: the values passed between all of the above (no imports from the project or moto).
- local_client.py: what a client of the emulator sets (port, test credentials, region); imports nothing.
"""
