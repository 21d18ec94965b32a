"""The inbox: verify who sent an activity, then act on the few kinds we understand.

Accepted (``202``): Follow of a local actor (answered by a signed Accept, through the delivery
queue), Undo of a Follow, Like or Announce, Delete of the sender's own account (its follows
go), Like / Announce of one of our articles and Create of a reply to one (counted per article,
never stored as content). Everything else is refused with a 4xx and changes nothing: an
unsigned, stale or forged request (401), a wrong body digest (401), a malformed document
(400), an activity about something that is not ours or of a kind we do not handle (422).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from ..gate import INBOX_MAX_BODY
from ..store import Store
from ..store.fediverse import FediStorage
from . import actors, net, signatures
from .delivery import stamp
from .objects import AS_CONTEXT, Actor

MAX_BODY = INBOX_MAX_BODY
REACTIONS = {"Like": "like", "Announce": "announce"}


class InboxError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Incoming:
    method: str
    url: str
    headers: dict[str, str]  # lower-case names
    body: bytes


def _id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


class Inbox:
    """Handles one POST to an inbox (shared, or a local actor's own)."""

    def __init__(self, config: dict, store: Store, fedi: FediStorage) -> None:
        self.config = config
        self.store = store
        self.fedi = fedi
        self.site = config["SITE_URL"]
        self.timeout = float(config["FEDIVERSE_TIMEOUT"])
        self.allow_private = bool(config["FEDIVERSE_ALLOW_PRIVATE_ADDRESSES"])
        self.fetched: dict[str, Any] = {}

    def handle(self, request: Incoming) -> tuple[int, str, bool]:
        """(status, message, queued_something)."""
        if len(request.body) > MAX_BODY:
            raise InboxError(413, f"an activity must be at most {MAX_BODY} bytes")
        try:
            doc = json.loads(request.body)
        except (ValueError, RecursionError):
            raise InboxError(400, "the body is not JSON") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("type"), str) or not _id(doc.get("actor")):
            raise InboxError(400, "an activity needs a type and an actor")
        sender = _id(doc["actor"])
        self.authenticate(request, sender)
        handler = getattr(self, "on_" + doc["type"].lower(), None)
        if handler is None:
            raise InboxError(422, f"activities of type {doc['type']!r} are not handled here")
        return handler(doc, sender)

    # ---- signatures
    def authenticate(self, request: Incoming, sender: str) -> None:
        try:
            found = signatures.parse(request.method, request.url, request.headers, request.body)
        except signatures.SignatureError as exc:
            raise InboxError(401, str(exc)) from None
        cached = self.fedi.remote_key(found.key_id)
        if cached is not None and cached[0] == sender:
            try:
                signatures.verify(found, cached[1])
                return
            except signatures.SignatureError:
                if _age(cached[2]) < 60:  # just fetched: refetching would not help
                    raise InboxError(401, "the signature does not match the signer's key") from None
        owner, pem = self.fetch_key(found.key_id)
        if owner != sender:
            raise InboxError(401, "the request is signed by another actor than the activity's")
        try:
            signatures.verify(found, pem)
        except signatures.SignatureError as exc:
            raise InboxError(401, str(exc)) from None
        self.fedi.save_remote_key(found.key_id, owner, pem, stamp(time.time()))

    def fetch(self, url: str) -> Any:
        """A remote document, fetched with a signed GET (servers in secure mode ask for one)."""
        url = url.split("#", 1)[0]
        if url not in self.fetched:
            site = actors.site_actor(self.config).id(self.site)
            _public, private = actors.keys(self.fedi, site)
            headers = signatures.sign_request("GET", url, None, site + "#main-key", private)
            headers.pop("Host", None)
            self.fetched[url] = net.fetch_json(
                url, timeout=self.timeout, allow_private=self.allow_private, headers=headers
            )
        return self.fetched[url]

    def fetch_key(self, key_id: str) -> tuple[str, str]:
        try:
            doc = self.fetch(key_id)
        except net.FetchError as exc:
            raise InboxError(401, f"cannot fetch the signer's key: {exc}") from None
        key = doc.get("publicKey") if isinstance(doc, dict) and "publicKey" in doc else doc
        if isinstance(key, list):
            key = next((k for k in key if isinstance(k, dict) and k.get("id") == key_id), None)
        if not isinstance(key, dict) or key.get("id") != key_id or not isinstance(key.get("publicKeyPem"), str):
            raise InboxError(401, "the signer's document has no public key with that id")
        owner = _id(key.get("owner")) or _id(doc)
        return owner, key["publicKeyPem"]

    # ---- activities
    def local(self, actor_id: str) -> Actor:
        found = actors.by_id(self.store, self.config, actor_id)
        if found is None:
            raise InboxError(422, f"{actor_id!r} is not an actor of this site")
        return found

    def on_follow(self, doc: dict, sender: str) -> tuple[int, str, bool]:
        target = self.local(_id(doc.get("object")))
        try:
            remote = self.fetch(sender)
        except net.FetchError as exc:
            raise InboxError(422, f"cannot fetch the follower: {exc}") from None
        inbox = remote.get("inbox") if isinstance(remote, dict) else None
        if not isinstance(inbox, str) or not inbox.startswith(("http://", "https://")):
            raise InboxError(422, "the follower has no inbox")
        endpoints = remote.get("endpoints") if isinstance(remote.get("endpoints"), dict) else {}
        shared = endpoints.get("sharedInbox") if isinstance(endpoints.get("sharedInbox"), str) else ""
        target_id = target.id(self.site)
        now = stamp(time.time())
        follow = {k: v for k, v in doc.items() if k != "@context"}
        accept_id = f"{target_id}#accepts/{_digest(_id(doc) or sender)}"
        accept = {"@context": AS_CONTEXT, "id": accept_id, "type": "Accept", "actor": target_id, "object": follow}
        with self.fedi.transaction():
            self.fedi.add_follower(target_id, sender, inbox, shared, _id(doc), now)
            self.fedi.enqueue(target_id, json.dumps(accept), [inbox], now)
        return 202, f"{sender} now follows {target_id}", True

    def on_undo(self, doc: dict, sender: str) -> tuple[int, str, bool]:
        obj = doc.get("object")
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind == "Follow":
            if _id(obj.get("actor")) not in ("", sender):
                raise InboxError(422, "an actor can only undo its own follow")
            target = self.local(_id(obj.get("object")))
            self.fedi.remove_follower(target.id(self.site), sender)
            return 202, "follow undone", False
        if kind in REACTIONS or isinstance(obj, str):
            if self.fedi.remove_reaction(_id(obj), sender):
                return 202, "reaction undone", False
        raise InboxError(422, "nothing of yours to undo here")

    def on_delete(self, doc: dict, sender: str) -> tuple[int, str, bool]:
        target = _id(doc.get("object"))
        if target == sender:
            self.fedi.remove_remote_actor(sender)
            return 202, "account forgotten", False
        if target and self.fedi.remove_reaction(target, sender):
            return 202, "reply no longer counted", False
        raise InboxError(422, "nothing of yours to delete here")

    def _our_object(self, ref: str) -> str:
        if ref.startswith(self.site + "/ap/objects/"):
            return ref
        raise InboxError(422, f"{ref!r} is not one of our articles")

    def on_like(self, doc: dict, sender: str) -> tuple[int, str, bool]:
        return self._react(doc, sender)

    def on_announce(self, doc: dict, sender: str) -> tuple[int, str, bool]:
        return self._react(doc, sender)

    def _react(self, doc: dict, sender: str) -> tuple[int, str, bool]:
        if not _id(doc):
            raise InboxError(400, "the activity has no id")
        oid = self._our_object(_id(doc.get("object")))
        self.fedi.add_reaction(REACTIONS[doc["type"]], _id(doc), oid, sender, stamp(time.time()))
        return 202, "counted", False

    def on_create(self, doc: dict, sender: str) -> tuple[int, str, bool]:
        obj = doc.get("object")
        if not isinstance(obj, dict) or not _id(obj) or not isinstance(obj.get("inReplyTo"), str | dict):
            raise InboxError(422, "only replies to our articles are accepted")
        oid = self._our_object(_id(obj["inReplyTo"]))
        self.fedi.add_reaction("reply", _id(obj), oid, sender, stamp(time.time()))
        return 202, "reply counted", False


def _age(value: str) -> float:
    from .delivery import parse_stamp

    return time.time() - parse_stamp(value)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
