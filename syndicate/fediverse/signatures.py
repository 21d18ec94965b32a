"""HTTP signatures as Mastodon sends and checks them, and RFC 9421 verification.

Signing uses draft-cavage-http-signatures-12 with ``rsa-sha256`` over
``(request-target) host date digest content-type`` (what Mastodon signs), with a ``Digest:
SHA-256=...`` header of the body. Verification accepts that form (``algorithm`` ``rsa-sha256``
or ``hs2019``) and RFC 9421 (``Signature-Input`` / ``Signature`` with ``rsa-v1_5-sha256``,
``rsa-pss-sha512`` or ``ed25519``), checks the body digest (``Digest`` or RFC 9530
``Content-Digest``), and refuses signatures older or newer than ``MAX_SKEW`` seconds.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

MAX_SKEW = 3600  # seconds a Date (or "created") may be away from our clock
SIGNED_HEADERS = ("(request-target)", "host", "date", "digest", "content-type")


class SignatureError(ValueError):
    """The request's signature is missing, malformed, stale or does not verify (the message says which)."""


@dataclass(frozen=True)
class SignatureInput:
    """What a verifier needs before it has the key: who signed, and a check to run with the key."""

    key_id: str
    scheme: str  # "cavage" | "rfc9421"
    base: bytes
    signature: bytes
    algorithm: str


def generate_key() -> tuple[str, str]:
    """A new RSA-2048 key pair as (public PEM, private PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return public, private


@functools.lru_cache(maxsize=64)
def _private_key(private_pem: str) -> rsa.RSAPrivateKey:
    """The parsed key, kept: loading (and checking) an RSA key costs far more than a signature,
    and the delivery workers sign with the same few keys thousands of times."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def digest_header(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def sign_request(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_pem: str,
    content_type: str = "application/activity+json",
) -> dict[str, str]:
    """The headers that sign a request the draft-cavage way (Host, Date, Digest, Signature...)."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    headers = {"Host": parts.netloc, "Date": formatdate(usegmt=True)}
    names = ["(request-target)", "host", "date"]
    if body is not None:
        headers["Digest"] = digest_header(body)
        headers["Content-Type"] = content_type
        names += ["digest", "content-type"]
    lines = [f"(request-target): {method.lower()} {target}"]
    lines += [f"{name}: {headers[name.title()]}" for name in names[1:]]
    signature = _private_key(private_pem).sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return headers


# ------------------------------------------------------------------------------ verifying

_PARAM = re.compile(r'\s*([a-zA-Z]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


def _parse_cavage(header: str) -> dict[str, str]:
    params, pos = {}, 0
    while pos < len(header):
        match = _PARAM.match(header, pos)
        if match is None:
            raise SignatureError("malformed Signature header")
        params[match.group(1).lower()] = match.group(2)
        pos = match.end()
    return params


def _check_time(moment: float, now: float, what: str) -> None:
    if abs(now - moment) > MAX_SKEW:
        raise SignatureError(f"the signature's {what} is more than {MAX_SKEW // 60} minutes away from now (stale)")


def _check_digest(headers: Mapping[str, str], body: bytes, required: bool) -> None:
    digest = headers.get("digest")
    content_digest = headers.get("content-digest")
    if digest:
        for item in digest.split(","):
            algo, _, value = item.strip().partition("=")
            if algo.lower() == "sha-256":
                if value != base64.b64encode(hashlib.sha256(body).digest()).decode():
                    raise SignatureError("the Digest header does not match the body")
                return
        raise SignatureError("the Digest header has no SHA-256 value")
    if content_digest:
        for algo, name in (("sha-256", hashlib.sha256), ("sha-512", hashlib.sha512)):
            match = re.search(algo + r"=:([A-Za-z0-9+/=]+):", content_digest)
            if match:
                if match.group(1) != base64.b64encode(name(body).digest()).decode():
                    raise SignatureError("the Content-Digest header does not match the body")
                return
        raise SignatureError("the Content-Digest header has no SHA-256 or SHA-512 value")
    if required:
        raise SignatureError("a request with a body must sign a Digest (or Content-Digest) of it")


def parse_cavage(method: str, path_qs: str, headers: Mapping[str, str], now: float) -> SignatureInput:
    """The draft-cavage signature of a request (``headers`` keyed in lower case)."""
    params = _parse_cavage(headers["signature"])
    for name in ("keyid", "signature"):
        if name not in params:
            raise SignatureError(f"the Signature header has no {name}")
    names = params.get("headers", "date").lower().split()
    for needed in ("(request-target)", "host", "date"):
        if needed not in names and not (needed == "date" and "(created)" in names):
            raise SignatureError(f"the signature must cover {needed}")
    if "date" in names:
        try:
            sent = parsedate_to_datetime(headers.get("date", "")).timestamp()
        except (TypeError, ValueError):
            raise SignatureError("missing or malformed Date header") from None
        _check_time(sent, now, "Date")
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path_qs}")
        elif name in ("(created)", "(expires)"):
            value = params.get(name[1:-1], "")
            if not value.isdigit():
                raise SignatureError(f"{name} is not a number")
            if name == "(created)":
                _check_time(int(value), now, "creation time")
            elif int(value) < now:
                raise SignatureError("the signature has expired")
            lines.append(f"{name}: {value}")
        elif name in headers:
            lines.append(f"{name}: {headers[name]}")
        else:
            raise SignatureError(f"the signed header {name!r} is missing")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except ValueError:
        raise SignatureError("the signature is not base64") from None
    return SignatureInput(
        params["keyid"], "cavage", "\n".join(lines).encode(), signature, params.get("algorithm", "hs2019").lower()
    )


def parse_rfc9421(method: str, url: str, headers: Mapping[str, str], now: float) -> SignatureInput:
    """The first RFC 9421 signature of a request (``Signature-Input`` and ``Signature``)."""
    match = re.match(r'\s*([A-Za-z0-9_.*-]+)=\(([^)]*)\)((?:;[a-z]+=(?:"[^"]*"|[0-9]+))*)', headers["signature-input"])
    if match is None:
        raise SignatureError("malformed Signature-Input header")
    label, inner, param_text = match.groups()
    components = re.findall(r'"([^"]+)"', inner)
    params = dict(re.findall(r';([a-z]+)=("[^"]*"|[0-9]+)', param_text))
    key_id = params.get("keyid", "").strip('"')
    if not key_id:
        raise SignatureError("Signature-Input has no keyid")
    created = params.get("created", "")
    if not created.isdigit():
        raise SignatureError("Signature-Input has no created time")
    _check_time(int(created), now, "creation time")
    if "expires" in params and int(params["expires"]) < now:
        raise SignatureError("the signature has expired")
    if "@method" not in components or not ({"@target-uri", "@path"} & set(components)):
        raise SignatureError("the signature must cover @method and @target-uri (or @path)")
    parts = urlsplit(url)
    derived = {
        "@method": method.upper(),
        "@target-uri": url,
        "@authority": parts.netloc.lower(),
        "@path": parts.path or "/",
        "@query": "?" + parts.query,
        "@scheme": parts.scheme,
    }
    lines = []
    for name in components:
        if name in derived:
            value = derived[name]
        elif name in headers:
            value = headers[name].strip()
        else:
            raise SignatureError(f"the signed component {name!r} is missing")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": ({inner}){param_text}')
    sig = re.search(re.escape(label) + r"=:([A-Za-z0-9+/=]+):", headers.get("signature", ""))
    if sig is None:
        raise SignatureError(f"no signature labelled {label!r}")
    return SignatureInput(
        key_id, "rfc9421", "\n".join(lines).encode(), base64.b64decode(sig.group(1)), params.get("alg", '""').strip('"')
    )


def parse(method: str, url: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> SignatureInput:
    """The signature of an incoming request, checked for freshness and body digest (not yet
    against the key). ``headers`` must be keyed in lower case; ``url`` is the full URL."""
    now = time.time() if now is None else now
    parts = urlsplit(url)
    if "signature-input" in headers:
        found = parse_rfc9421(method, url, headers, now)
    elif "signature" in headers:
        found = parse_cavage(method, parts.path + ("?" + parts.query if parts.query else ""), headers, now)
    else:
        raise SignatureError("the request is not signed (no Signature header)")
    _check_digest(headers, body, required=bool(body))
    if found.scheme == "cavage" and body and b"digest" not in found.base.lower():
        raise SignatureError("the signature does not cover the Digest header")
    return found


def verify(found: SignatureInput, public_pem: str) -> None:
    """Raise ``SignatureError`` unless ``found`` was made with the key ``public_pem``."""
    try:
        key = serialization.load_pem_public_key(public_pem.encode())
    except ValueError:
        raise SignatureError("the signer's public key is unreadable") from None
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if found.algorithm == "rsa-pss-sha512":
                key.verify(found.signature, found.base, padding.PSS(padding.MGF1(hashes.SHA512()), 64), hashes.SHA512())
            else:
                key.verify(found.signature, found.base, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(found.signature, found.base)
        else:
            raise SignatureError("unsupported key type")
    except InvalidSignature:
        raise SignatureError("the signature does not match the signer's key") from None
