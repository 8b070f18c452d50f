"""Installed, silentcert is one import namespace: the wheel holds the package `silentcert` alone (the design card's
folders inside it, with their data files), never top-level `services`, `graph` or `clients`."""
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_installs_one_namespace_with_its_data_files(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(REPO)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("silentcert-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"silentcert", wheel.name.split("-py")[0] + ".dist-info"}
    for needed in ("silentcert/clients/cli.py", "silentcert/services/serving.py", "silentcert/synthetic/province.py",
                   "silentcert/graph/schema.cypher", "silentcert/graph/neo4j_local/pom.xml",
                   "silentcert/graph/queries/", "silentcert/graph/browser/guide.html",
                   "silentcert/services/liveness/templates/", "silentcert/clients/console/templates/",
                   "silentcert/resolver/v1/resolver_pb2.py", "silentcert/py.typed"):
        assert any(name.startswith(needed) for name in names), needed
    entry_points = zipfile.ZipFile(wheel).read(wheel.name.split("-py")[0] + ".dist-info/entry_points.txt").decode()
    assert "silentcert = silentcert.clients.cli:main" in entry_points


def test_outside_the_checkout_only_silentcert_is_importable(tmp_path):
    probe = ("import importlib.util, silentcert.services.serving, silentcert.graph.sql; "
             "print([n for n in ('services', 'graph', 'clients', 'synthetic') if importlib.util.find_spec(n)])")
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
