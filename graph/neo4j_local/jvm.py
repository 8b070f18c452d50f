"""The java command lines of the server and of neo4j-admin.

We run ``org.neo4j.server.CommunityEntryPoint`` in one JVM instead of the ``neo4j`` launcher
(which forks a second JVM): one process to signal, one pid to record. The flags are the ones
the stock launcher adds; without ``--add-opens java.base/java.nio`` the server dies with a
LinkageError on DirectByteBuffer.
"""

from __future__ import annotations

import os

from silentcert.graph.neo4j_local.settings import LocalNeo4jSettings

SERVER_MAIN = "org.neo4j.server.CommunityEntryPoint"
ADMIN_MAIN = "org.neo4j.cli.AdminTool"

OPENS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
]

STOCK_FLAGS = [
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "--enable-native-access=ALL-UNNAMED",
    "-Dfile.encoding=UTF-8",
]


def classpath(settings: LocalNeo4jSettings) -> str:
    """Every jar in HOME/lib (the JVM expands the wildcard)."""
    return str(settings.lib_dir / "*")


def server_command(java: str, settings: LocalNeo4jSettings) -> list[str]:
    """The java command that runs the server in the foreground."""
    return [
        java,
        f"-Xms{settings.heap_initial}",
        f"-Xmx{settings.heap_max}",
        *STOCK_FLAGS,
        *OPENS,
        f"-Dbasedir={settings.home}",
        "-cp",
        classpath(settings),
        SERVER_MAIN,
        f"--home-dir={settings.home}",
        f"--config-dir={settings.conf_dir}",
    ]


def admin_command(java: str, settings: LocalNeo4jSettings, args: list[str], heap: str = "1g") -> list[str]:
    """The java command of ``neo4j-admin ARGS`` for this home."""
    return [java, f"-Xmx{heap}", *OPENS, "-Dfile.encoding=UTF-8", "-cp", classpath(settings), ADMIN_MAIN, *args]


def admin_environment(settings: LocalNeo4jSettings) -> dict[str, str]:
    """neo4j-admin finds the home and its config through these two variables."""
    return {**os.environ, "NEO4J_HOME": str(settings.home), "NEO4J_CONF": str(settings.conf_dir)}
