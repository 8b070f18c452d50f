"""A local Neo4j Community server assembled from Maven Central jars, for development and tests.

    settings = LocalNeo4jSettings.from_env()
    start(settings)                      # installs once, then waits until Bolt answers
    uri, user, password = bolt_settings(settings)

See docs/neo4j.md.
"""

from silentcert.graph.neo4j_local.bulk_import import ImportResult, bulk_import
from silentcert.graph.neo4j_local.server import ServerStatus, bolt_settings, install, start, status, stop
from silentcert.graph.neo4j_local.settings import LocalNeo4jSettings

__all__ = [
    "ImportResult",
    "LocalNeo4jSettings",
    "ServerStatus",
    "bolt_settings",
    "bulk_import",
    "install",
    "start",
    "status",
    "stop",
]
