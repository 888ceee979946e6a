"""Pure logic of the economic-events lake. Handlers in pipeline.handlers are thin adapters over it."""
