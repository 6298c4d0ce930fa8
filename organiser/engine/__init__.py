"""The engine: passes that claim records, perform one idempotent remote effect each, and
write the outcome. The only code that talks to DataCite; it never imports intake."""
