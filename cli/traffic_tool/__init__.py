"""traffic-tool's command line: the local stack, the API adapter, the worker entry point, the client."""
