// A parameter round trip: proves Bolt, authentication and Cypher execution without touching data.
RETURN $value AS value
