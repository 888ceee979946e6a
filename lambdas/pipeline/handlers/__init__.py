"""Lambda entry points: decode the event, call pipeline functions, write results."""
