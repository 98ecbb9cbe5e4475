//! Connecting to PostgreSQL: URL parsing, libpq sslmode semantics over rustls.
