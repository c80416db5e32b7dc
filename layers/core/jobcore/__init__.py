"""jobcore: the shared library of traffic-tool (models, settings, Redis job plane, URL guard).

It knows no HTTP framework and no browser: the Lambda functions, the worker and
the local stack all import it, and it imports none of them.
"""
