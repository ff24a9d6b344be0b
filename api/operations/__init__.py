"""Long operations (imports, …) run in a background thread pool, with progress the console polls."""
