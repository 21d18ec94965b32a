"""Deployment beyond one process: reverse-proxy configs (nginx, Varnish) and ``deploy.stack``,
which starts the whole arrangement on loopback for tests, benchmarks and local trials."""
