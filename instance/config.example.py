# Copy to instance/config.py and edit. Environment variables SYNDICATE_<NAME> override these.
SITE_URL = "https://news.example.com"
SITE_TITLE = "The Example Times"
TIMEZONE = "Europe/London"
# CACHE_TYPE = "RedisCache"
# CACHE_REDIS_URL = "redis://127.0.0.1:6379/0"
# WEBSUB_HUB = "https://hub.example.com/"
