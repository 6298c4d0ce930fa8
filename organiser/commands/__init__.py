"""Commands: the click CLI and the scheduler daemon. Parse, call an action, render."""
