"""The formats intake reads: PDS4 labels, the reserve spreadsheet, DataCite JSON and XML."""
