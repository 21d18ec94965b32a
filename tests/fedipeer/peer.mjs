// A real ActivityPub peer built on Fedify, for Syndicate's end-to-end test (tests/test_fediverse_peer.py).
// It serves one actor, "peer", whose inbox Fedify guards with its own HTTP signature checks; what it
// receives (after verification) is kept in memory. A small control API under /control/ lets the test
// drive it: discover an account by WebFinger, follow, read an outbox, send deliberately bad requests.
//
// Usage: node peer.mjs <port>   (prints "READY <url>" once listening on 127.0.0.1)
import http from "node:http";
import {
  Accept, Announce, Article, Create, Delete, Endpoints, Follow, Person, Update,
  createFederation, exportJwk, generateCryptoKeyPair, importJwk, isActor, lookupWebFinger,
  MemoryKvStore, signRequest, traverseCollection,
} from "@fedify/fedify";

const port = Number(process.argv[2]);
const origin = `http://127.0.0.1:${port}`;
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
const keys = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const received = [];

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "peer") return null;
    const pairs = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify test peer",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: pairs[0].cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === "peer" ? [keys] : []));

async function record(ctx, activity) {
  const entry = { type: activity.constructor.name, id: activity.id?.href, actor: activity.actorId?.href };
  if (activity instanceof Accept) entry.object = (await activity.getObject())?.id?.href;
  if (activity instanceof Announce) entry.object = activity.objectId?.href;
  if (activity instanceof Create || activity instanceof Update) {
    const object = await activity.getObject();
    entry.objectType = object?.constructor.name;
    entry.object = object?.id?.href;
    entry.name = object?.name?.toString();
    entry.url = object?.url?.href?.href ?? object?.url?.href;
    entry.tags = [];
    for await (const tag of object.getTags()) entry.tags.push(tag.name?.toString());
    entry.attachments = [];
    for await (const a of object.getAttachments()) entry.attachments.push({ type: a.constructor.name, name: a.name?.toString() });
  }
  if (activity instanceof Delete) entry.object = activity.objectId?.href;
  received.push(entry);
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, record).on(Create, record).on(Update, record).on(Delete, record).on(Announce, record);

async function discover(handle) {
  // Fedify's own acct: lookup always asks https://<host>/; the test server speaks plain HTTP on
  // loopback, so the peer asks the WebFinger endpoint the same way over http, then lets Fedify
  // fetch and parse the actor it points to (and checks the actor's own WebFinger by its URL).
  const host = handle.split("@").pop();
  const res = await fetch(`http://${host}/.well-known/webfinger?resource=acct:${encodeURIComponent(handle)}`, {
    headers: { Accept: "application/jrd+json" },
  });
  if (!res.ok) return { status: res.status };
  const jrd = await res.json();
  const self = jrd.links.find((l) => l.rel === "self" && l.type === "application/activity+json");
  const byUrl = await lookupWebFinger(self.href, { allowPrivateAddress: true });
  const ctx = federation.createContext(new URL(origin), undefined);
  const actor = await ctx.lookupObject(self.href);
  if (!isActor(actor)) return { status: 502, error: "not an actor" };
  return {
    status: 200, subject: jrd.subject, id: actor.id.href, type: actor.constructor.name,
    username: actor.preferredUsername?.toString(), inbox: actor.inboxId?.href,
    sharedInbox: actor.endpoints?.sharedInbox?.href, outbox: actor.outboxId?.href,
    followers: actor.followersId?.href, webfingerByUrl: byUrl?.subject ?? null,
  };
}

async function control(path, body) {
  const ctx = federation.createContext(new URL(origin), undefined);
  if (path === "/control/discover") return discover(body.handle);
  if (path === "/control/follow") {
    const target = await ctx.lookupObject(body.actor);
    const follow = new Follow({
      id: new URL(`${origin}/follows/${received.length}-${Date.now()}`),
      actor: ctx.getActorUri("peer"),
      object: target.id,
    });
    await ctx.sendActivity({ identifier: "peer" }, target, follow);
    return { status: 200, id: follow.id.href };
  }
  if (path === "/control/received") return { status: 200, received };
  if (path === "/control/outbox") {
    const collection = await ctx.lookupObject(body.url);
    const items = [];
    for await (const item of traverseCollection(collection, { documentLoader: ctx.documentLoader })) {
      const object = await item.getObject();
      items.push({ type: item.constructor.name, object: object?.id?.href, name: object?.name?.toString() });
      if (items.length >= body.limit) break;
    }
    return { status: 200, totalItems: collection.totalItems, items };
  }
  if (path === "/control/bad-request") {
    // A signed Follow, made wrong on purpose: "stale" (Date two hours ago) or "forged" (another key).
    const follow = { "@context": "https://www.w3.org/ns/activitystreams", id: `${origin}/follows/bad-${Date.now()}`,
      type: "Follow", actor: `${origin}/users/peer`, object: body.object };
    const headers = { "Content-Type": "application/activity+json" };
    if (body.mode === "stale") headers.Date = new Date(Date.now() - 2 * 3600 * 1000).toUTCString();
    const key = body.mode === "forged" ? (await generateCryptoKeyPair("RSASSA-PKCS1-v1_5")).privateKey : keys.privateKey;
    const request = new Request(body.inbox, { method: "POST", headers, body: JSON.stringify(follow) });
    const signed = await signRequest(request, key, new URL(`${origin}/users/peer#main-key`));
    // node:http rather than fetch, which leaves out a Date header set by the caller.
    const payload = Buffer.from(await signed.arrayBuffer());
    const answer = await new Promise((resolve, reject) => {
      const out = http.request(body.inbox, { method: "POST", headers: Object.fromEntries(signed.headers) }, (res) => {
        const parts = [];
        res.on("data", (c) => parts.push(c));
        res.on("end", () => resolve({ answer: res.statusCode, body: Buffer.concat(parts).toString() }));
      });
      out.on("error", reject);
      out.end(payload);
    });
    return { status: 200, ...answer };
  }
  return { status: 404 };
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, origin);
    if (url.pathname.startsWith("/control/")) {
      const answer = await control(url.pathname, body.length ? JSON.parse(body) : {});
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(answer));
      return;
    }
    const request = new Request(url, {
      method: req.method, headers: req.headers, body: ["GET", "HEAD"].includes(req.method) ? undefined : body,
    });
    const response = await federation.fetch(request, { contextData: undefined });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(String(error?.stack ?? error));
  }
});
server.listen(port, "127.0.0.1", () => console.log(`READY ${origin}`));
