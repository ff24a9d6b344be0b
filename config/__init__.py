"""Settings, rule parameters, database engine and logging set-up."""
