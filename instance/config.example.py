# Copy to instance/config.py and edit. Environment variables SYNDICATE_<NAME> override these.
SITE_URL = "https://news.example.com"
SITE_TITLE = "The Example Times"
TIMEZONE = "Europe/London"
# CACHE_TYPE = "RedisCache"
# CACHE_REDIS_URL = "redis://127.0.0.1:6379/0"
# WEBSUB_HUB = "https://hub.example.com/"
# `syndicate serve` limits (see the README's "syndicate serve on the open internet"):
# SERVER_THREADS = 8
# SERVER_CONNECTION_LIMIT = 4096  # the open-file limit is raised to fit, up to the hard limit
# SERVER_CHANNEL_TIMEOUT = 30     # seconds a silent connection is kept
# SERVER_HEADER_TIMEOUT = 15      # seconds a client may take to send its headers
# SERVER_MAX_HEADER_SIZE = 65536
# MAX_CONTENT_LENGTH = 2097152    # largest API request body; also waitress's body limit
