"""Lambda handlers, a folder per service, a module per endpoint."""
