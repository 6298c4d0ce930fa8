"""What a record is, independent of storage and network: states, identifiers, metadata."""
