"""DataCite: the REST client and the classification of its answers."""
