"""The local tools the server needs: a Java 17+ runtime and Maven."""

from __future__ import annotations

import re
import shutil
import subprocess

from silentcert.graph.errors import ToolMissing

MIN_JAVA = 17

_JAVA_HINT = (
    "install a Java 17 or 21 runtime (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) "
    "and make sure `java` is on PATH"
)
_MVN_HINT = "install Apache Maven (Debian/Ubuntu: apt-get install maven) and make sure `mvn` is on PATH"


def java_executable() -> str:
    """Path of `java`, checked to be version 17 or newer."""
    java = shutil.which("java")
    if java is None:
        raise ToolMissing(f"java not found: {_JAVA_HINT}")
    major = java_major_version(java)
    if major < MIN_JAVA:
        raise ToolMissing(f"{java} is Java {major}; Neo4j 5.26 needs Java {MIN_JAVA}+: {_JAVA_HINT}")
    return java


def mvn_executable() -> str:
    """Path of `mvn`."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolMissing(f"mvn not found (needed once, to fetch the Neo4j jars): {_MVN_HINT}")
    return mvn


def java_major_version(java: str) -> int:
    """The major version `java -version` reports (``1.8.0_x`` counts as 8)."""
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        raise ToolMissing(f"cannot read the version of {java}: {_JAVA_HINT}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major
