"""The API's operations, one module per resource: ``/dois`` (list, reserve and update),
``/doi`` (one record: read, submit, release, reject), ``/dois/check`` (pending release)."""
