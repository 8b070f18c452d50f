"""silentcert: silent pension liveness certification, one import namespace.

The design card's top-level folders are this package's subpackages (the entries here are links to them):
`silentcert.services` (resolver, liveness, deathcheck and the batch rounds), `silentcert.graph` (the stores),
`silentcert.clients` (command line, review console), `silentcert.synthetic` (the generator). The gRPC stubs
generated from proto/ are `silentcert.{resolver,liveness,deathcheck}.v1` (scripts/gen_protos.sh).
"""
