"""The local server's settings, config file, password file and command lines (no server started)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from silentcert.graph.errors import InvalidInput, StageFailed
from silentcert.graph.neo4j_local import home, jvm
from silentcert.graph.neo4j_local.bulk_import import import_arguments
from silentcert.graph.neo4j_local.settings import NEO4J_VERSION, LocalNeo4jSettings
from silentcert.graph.neo4j_local.tools import java_major_version


def test_from_env_reads_only_its_own_variables(tmp_path: Path):
    settings = LocalNeo4jSettings.from_env({
        "SILENTCERT_NEO4J_HOME": str(tmp_path), "SILENTCERT_NEO4J_BOLT_PORT": "17687",
        "SILENTCERT_NEO4J_HTTP_PORT": "17474", "NEO4J_PASSWORD": "for-an-external-server",
    })
    assert settings.home == tmp_path and settings.password is None
    assert settings.bolt_uri == "bolt://127.0.0.1:17687"
    assert settings.browser_url == "http://127.0.0.1:17474/browser/"


def test_default_home_is_per_version():
    assert LocalNeo4jSettings.from_env({}).home.name == f"neo4j-{NEO4J_VERSION}"


def test_a_port_that_is_not_a_number_names_the_variable():
    with pytest.raises(InvalidInput, match="SILENTCERT_NEO4J_BOLT_PORT='seven' is not a TCP port"):
        LocalNeo4jSettings.from_env({"SILENTCERT_NEO4J_BOLT_PORT": "seven"})


def test_memory_sizes_come_from_the_environment_and_a_bad_one_names_the_variable():
    settings = LocalNeo4jSettings.from_env({"SILENTCERT_NEO4J_HEAP": "4G", "SILENTCERT_NEO4J_PAGECACHE": "6g"})
    assert (settings.heap_max, settings.pagecache) == ("4g", "6g")
    assert LocalNeo4jSettings.from_env({}).pagecache == LocalNeo4jSettings().pagecache
    for bad in ("6", "six g", "0g", "6gb"):
        with pytest.raises(InvalidInput, match=f"SILENTCERT_NEO4J_PAGECACHE='{bad}' is not a memory size"):
            LocalNeo4jSettings.from_env({"SILENTCERT_NEO4J_PAGECACHE": bad})


def test_pom_pins_the_same_versions_as_the_settings():
    pom = (Path(home.__file__).parent / "pom.xml").read_text()
    settings = LocalNeo4jSettings()
    assert f"<neo4j.version>{settings.version}</neo4j.version>" in pom
    assert f"<neo4j.browser.version>{settings.browser_version}</neo4j.browser.version>" in pom


def test_config_listens_on_loopback_with_auth_and_the_configured_memory():
    settings = LocalNeo4jSettings(bolt_port=17687, http_port=17474, heap_max="3g", pagecache="1g")
    config = dict(line.split("=", 1) for line in home.render_config(settings).splitlines() if "=" in line)
    assert config["server.default_listen_address"] == "127.0.0.1"
    assert config["server.bolt.listen_address"] == ":17687"
    assert config["server.http.listen_address"] == ":17474"
    assert config["server.https.enabled"] == "false"
    assert config["dbms.security.auth_enabled"] == "true"
    assert config["server.memory.heap.max_size"] == "3g" and config["server.memory.pagecache.size"] == "1g"
    assert config["dbms.usage_report.enabled"] == "false"


def test_generated_password_is_stored_once_with_mode_600(tmp_path: Path):
    settings = LocalNeo4jSettings(home=tmp_path)
    first = home.ensure_password(settings)
    assert len(first) >= 20
    assert settings.password_file.stat().st_mode & 0o777 == 0o600
    assert home.ensure_password(settings) == first == home.read_password(settings)


def test_configured_password_must_match_the_stored_one(tmp_path: Path):
    assert home.ensure_password(LocalNeo4jSettings(home=tmp_path, password="first-password")) == "first-password"
    with pytest.raises(InvalidInput, match="initialised with the password in"):
        home.ensure_password(LocalNeo4jSettings(home=tmp_path, password="second-password"))


def test_short_configured_password_is_refused(tmp_path: Path):
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        home.ensure_password(LocalNeo4jSettings(home=tmp_path, password="short"))


def test_lib_is_complete_only_with_the_marker_of_these_versions(tmp_path: Path):
    settings = LocalNeo4jSettings(home=tmp_path)
    settings.lib_dir.mkdir()
    assert not home.lib_complete(settings)
    (settings.lib_dir / home.LIB_MARKER).write_text("neo4j=5.26.0 browser=5.24.0\n")
    assert not home.lib_complete(settings)
    (settings.lib_dir / home.LIB_MARKER).write_text(f"neo4j={settings.version} browser={settings.browser_version}\n")
    assert home.lib_complete(settings)


def test_server_command_opens_java_nio_and_names_home_and_config(tmp_path: Path):
    settings = LocalNeo4jSettings(home=tmp_path, heap_initial="512m", heap_max="1g")
    command = jvm.server_command("/usr/bin/java", settings)
    assert "--add-opens=java.base/java.nio=ALL-UNNAMED" in command
    assert {"-Xms512m", "-Xmx1g"} <= set(command)
    assert command[-3:] == [jvm.SERVER_MAIN, f"--home-dir={tmp_path}", f"--config-dir={tmp_path / 'conf'}"]


def test_import_arguments_list_each_label_and_type(tmp_path: Path):
    args = import_arguments({"Pensioner": [tmp_path / "a.csv", tmp_path / "b.csv"]},
                            {"HAS_ID": [tmp_path / "r.csv"]}, tmp_path / "report", threads=2)
    assert args[:3] == ["database", "import", "full"]
    assert f"--nodes=Pensioner={tmp_path / 'a.csv'},{tmp_path / 'b.csv'}" in args
    assert f"--relationships=HAS_ID={tmp_path / 'r.csv'}" in args
    assert args[-1] == "neo4j"


def test_import_refuses_a_label_without_files(tmp_path: Path):
    with pytest.raises(StageFailed, match="no files"):
        import_arguments({"Pensioner": []}, {}, tmp_path / "report", threads=2)


def test_java_version_of_this_machine_is_read():
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is not installed; .ci/run installs it")
    assert java_major_version(java) >= 17
