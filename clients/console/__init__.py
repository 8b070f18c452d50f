"""The review console: a small web application investigators use to work the death check's flags in a browser.

It is a client of the DeathCheck (and Liveness) gRPC services, like `silentcert review`: every page is answered by
rpcs made with the investigator's own bearer token over TLS, so the services' access log names them and a decision
is recorded by the audited DecideFlag under their name. The console holds no store and writes nothing itself.

    server.py     `silentcert console`: settings, TLS, the WSGI server (cheroot) in front of the app
    app.py        the Flask application: login, the queue, a case, a decision; security headers
    sessions.py   server-side sessions (the token never leaves the server) and their CSRF tokens
    pages.py      gRPC answers → what the templates show (a case's records, timeline, audit trail)
    policy.py     the masking policy: what is shown masked or in full, and where
    browser.py    the link that opens the same person in Neo4j Browser

See docs/investigation.md, "The review console".
"""
