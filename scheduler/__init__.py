"""The draw: instance format, encoder, pure solver, service and jobs."""
