vcl 4.1;
# Syndicate behind Varnish (the alternative to deploy/nginx.conf): several waitress processes,
# one shared Redis cache, Varnish in front.
#
# A template: the two placeholders between at-signs are filled in by deploy/stack.py (one backend per
# waitress process); see deploy/README.md. Run with:
#   varnishd -F -a 127.0.0.1:6081 -T 127.0.0.1:6082 -f /path/to/rendered.vcl -s malloc,256m -n STATE_DIR
#
# Varnish already does most of what we need by default: it takes the TTL from the app's
# Cache-Control max-age, the grace from stale-while-revalidate, answers clients' If-None-Match /
# If-Modified-Since with 304 from a cached object, keeps one object per Vary: Accept-Encoding
# variant (normalised to gzip, which Varnish handles itself), and coalesces concurrent misses.
# This file adds: round robin over the processes, the API never cached, junk query parameters
# stripped, conditional revalidation of expired objects, no caching of what the app does not
# mark cacheable, and purging by surrogate key (the xkey vmod, Debian's varnish-modules):
# the app names what each response shows in an `xkey` header and, on every write, sends
# `PURGE /` with `xkey-purge: <keys>` (SYNDICATE_PURGE_URLS); so objects can live for hours
# (the app's Surrogate-Control, read here and nowhere else) and still change at once.

import directors;
import std;
import xkey;

# Who may purge: the application hosts (loopback here). Everyone else gets a 403.
acl purgers {
    "127.0.0.1";
    "::1";
}

probe healthz {
    .url = "/healthz";
    .interval = 5s;
    .timeout = 2s;
    .window = 5;
    .threshold = 3;
    .initial = 3;
}

@BACKENDS@

sub vcl_init {
    new app = directors.round_robin();
@DIRECTOR_ADD@
}

sub vcl_recv {
    if (req.method == "PURGE" || req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "xkey-purge header required"));
        }
        if (req.method == "BAN") {
            # Without the xkey vmod: ban every object whose xkey header holds one of the keys.
            ban("obj.http.xkey ~ (^|\s)(" + regsuball(req.http.xkey-purge, "\s+", "|") + ")(\s|$)");
            return (synth(200, "Banned"));
        }
        # A hard purge: purged objects are gone, never served stale from grace.
        set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged " + req.http.n-gone));
    }
    set req.backend_hint = app.backend();
    if (req.url ~ "^/(api|websub|partner)/") {
        return (pass);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Pages and feeds are the same for everyone: cookies must not split or bypass the cache.
    unset req.http.Cookie;
    if (req.http.Authorization) {
        return (pass);
    }
    # Feeds vary on Accept (a browser gets the same bytes as application/xml, styled by XSLT; a
    # reader gets the feed type). Reduce the endless Accept strings to those two, so each feed
    # has two variants in the cache instead of one per user agent.
    if (req.url ~ "/feed/") {
        if (req.http.Accept ~ "text/html" && req.http.Accept !~ "application/(rss|atom)\+xml") {
            set req.http.Accept = "text/html";
        } else {
            unset req.http.Accept;
        }
    }
    # Keep only the query parameters that change the output (the ones the app's own cache key
    # uses), in a fixed order, so junk parameters cannot flood the cache.
    if (req.url ~ "\?") {
        set req.url = regsuball(req.url, "(?<=[?&])(?!(?:page|q|content)=)[^&#]*(?:&|$)", "");
        set req.url = regsub(req.url, "[?&]+$", "");
        set req.url = std.querysort(req.url);
    }
}

sub vcl_backend_response {
    # Expired objects are kept an hour so Varnish can revalidate them with If-None-Match /
    # If-Modified-Since: an unchanged feed then costs the app a 304 from its own cache.
    set beresp.keep = 1h;
    # With purging on, the app tells this proxy (alone) how long it may keep an object; clients
    # still get the short Cache-Control max-age. "no-store" marks a response rendered while a
    # write landed: it may predate a purge that already passed, so it is not kept at all.
    if (beresp.http.Surrogate-Control ~ "no-store") {
        set beresp.uncacheable = true;
        set beresp.ttl = 1s;
        unset beresp.http.Surrogate-Control;
        return (deliver);
    }
    if (beresp.http.Surrogate-Control ~ "max-age=[0-9]+") {
        # Kept on the object (a 304 revalidation reuses it) and removed in vcl_deliver.
        set beresp.ttl = std.duration(regsub(beresp.http.Surrogate-Control, ".*max-age=([0-9]+).*", "\1s"), 120s);
    }
    # Only what the app marks cacheable is cached (Varnish's default would be 120 s).
    if (!beresp.http.Cache-Control && !beresp.http.Expires) {
        set beresp.uncacheable = true;
        set beresp.ttl = 10s;
        return (deliver);
    }
}

sub vcl_deliver {
    # The keys and the proxy's lifetime are for this proxy only.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Control;
    if (obj.hits > 0) {
        set resp.http.X-Proxy-Cache = "HIT";
    } else {
        set resp.http.X-Proxy-Cache = "MISS";
    }
}
