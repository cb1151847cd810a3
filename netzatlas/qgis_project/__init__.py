"""``netzatlas qgis project``: the registry as a QGIS project on direct PostGIS layers (the TEKSI pattern).

- ``model``: what the project holds (groups, layers, forms, relations), decided from the catalogue — pure;
- ``document``: that plan as QGIS project XML (.qgs inside a .qgz) — pure;
- ``pgservice``: the ``pg_service.conf`` entry the layers connect through (no password);
- ``catalogue``: the registry facts read from the database.
"""

from netzatlas.qgis_project.document import project_xml, write_project
from netzatlas.qgis_project.model import ProjectSpec, plan_project

__all__ = ["ProjectSpec", "plan_project", "project_xml", "write_project"]
