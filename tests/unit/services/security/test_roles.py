from silentcert.deathcheck.v1 import deathcheck_pb2
from silentcert.liveness.v1 import liveness_pb2
from silentcert.resolver.v1 import resolver_pb2
from silentcert.services.security import roles


def test_every_rpc_of_every_service_is_in_the_table():
    for module in (resolver_pb2, liveness_pb2, deathcheck_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                assert f"/{service.full_name}/{method.name}" in roles.RPC_ROLES


def test_unknown_methods_are_closed_to_everyone_but_admin():
    assert not roles.may_call("reviewer", "/silentcert.new.v1.New/Thing")
    assert roles.may_call("admin", "/silentcert.new.v1.New/Thing")


def test_only_health_is_public():
    assert {m for m in roles.RPC_ROLES if roles.is_public(m)} == {"/grpc.health.v1.Health/Check",
                                                                   "/grpc.health.v1.Health/Watch"}
