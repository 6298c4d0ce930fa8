"""The engine: passes that claim records, perform one idempotent remote effect each, and
write the outcome. The only code that changes anything at DataCite (``organiser import`` and
``organiser check``, in :mod:`organiser.actions`, only list the account's DOIs); it never
imports intake."""
