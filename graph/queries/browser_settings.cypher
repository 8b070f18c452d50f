// Neo4j Browser's server-side settings (which hosts it may play remote guides from); checked by
// tests/integration/test_browser_guide.py.
CALL dbms.listConfig('browser.')
YIELD name, value
RETURN name, value
