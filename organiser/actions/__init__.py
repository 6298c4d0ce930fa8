"""Actions: plain functions that the CLI, the scheduler daemon and (later) the web API call.
They return results; nothing here imports click or prints."""
