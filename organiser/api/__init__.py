"""The PDS DOI Service API 0.2 as served by ``organiser serve``: one more way to *mark* and to
*read* records. It never talks to DataCite; the organiser's passes do, as for every mark.

- :mod:`~organiser.api.app`: the application factory (routes, errors, limits, docs);
- :mod:`~organiser.api.auth`: bearer tokens and roles;
- :mod:`~organiser.api.routes`: one module per resource (``/dois``, ``/doi``, ``/dois/check``);
- :mod:`~organiser.api.schemas`: what the answers look like;
- :mod:`~organiser.api.urls`: which ``url`` may be fetched, checked before any connection;
- :mod:`~organiser.api.server`: uvicorn, signals and logging.
"""

#: Where the API lives, as in the PDS DOI Service.
BASE_PATH = "/PDS_APIs/pds_doi_api/0.2"
