"""Storage: models, opening and upgrading the database, records with their history, claims."""
