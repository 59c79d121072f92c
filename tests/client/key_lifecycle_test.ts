/**
 * The key lifecycle through the client: rotation under load, keyDir persistence, the lower-level
 * client's key methods, and zeroing when requests are interrupted and the client disposed.
 */
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { Effect, Fiber, Layer } from "effect";
import { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import { SecureCompletion } from "../../src/client/secure_completion.ts";
import { defaultKeyUnwrapping } from "../../src/crypto/hybrid_cipher.ts";
import { KeyError } from "../../src/errors.ts";
import { startTestRouter } from "../../src/testing/router.ts";
import { makeRecordingSecureBytes } from "../../src/testing/recording_secure_bytes.ts";
import { untilLent } from "../_helpers.ts";
import { makeScripted, serviceLayer } from "./_scripted_transport.ts";

const ask = (content: string) => ({ model: "m", messages: [{ role: "user", content }] });

Deno.test("200 requests while the key rotates every few milliseconds: none lost, none misopened", async () => {
  const router = await startTestRouter();
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    keySize: 2048,
    keyRotationInterval: 5,
    maxRetries: 0,
  });
  try {
    const answers = [];
    // 200 requests in waves of 20, so rotations fall between and during them.
    for (let wave = 0; wave < 10; wave++) {
      answers.push(
        ...await Promise.all(
          Array.from({ length: 20 }, (_, i) => client.create(ask(`q${wave * 20 + i}`))),
        ),
      );
    }
    assert.equal(answers.length, 200);
    answers.forEach((a, i) => assert.equal(a.choices[0]?.message.content, `Echo: q${i}`));
    const keys = new Set(
      router.requests.filter((r) => r.path.startsWith("/v1/")).map((r) =>
        r.headers["x-public-key"]
      ),
    );
    assert.ok(keys.size >= 3, `the key rotated during the run (${keys.size} keys seen)`);
  } finally {
    await client.dispose();
    await router.close();
  }
});

Deno.test("keyDir: the client makes, saves and reuses its key files", async () => {
  const dir = await Deno.makeTempDir();
  const router = await startTestRouter();
  try {
    const keyDir = join(dir, "keys");
    const options = {
      baseUrl: router.url,
      allowHttp: true,
      keySize: 2048 as const,
      keyDir,
      keyPassword: "correct horse battery",
    };
    const first = new SecureChatCompletion(options);
    await first.create(ask("one"));
    await first.dispose();
    assert.equal((await stat(join(keyDir, "private_key.pem"))).mode & 0o777, 0o600);
    assert.equal((await stat(join(keyDir, "public_key.pem"))).mode & 0o777, 0o644);
    assert.match(await Deno.readTextFile(join(keyDir, "private_key.pem")), /ENCRYPTED PRIVATE KEY/);
    const second = new SecureChatCompletion(options);
    await second.create(ask("two"));
    await second.dispose();
    const keys = router.requests.filter((r) => r.path.startsWith("/v1/")).map((r) =>
      r.headers["x-public-key"]
    );
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1], "the second client loaded the saved pair");
    // A wrong password is a typed error on the first call.
    const wrong = new SecureChatCompletion({ ...options, keyPassword: "wrong password!" });
    await assert.rejects(
      wrong.create(ask("x")),
      (e) => e instanceof KeyError && e.reason === "DecryptionFailed",
    );
    await wrong.dispose();
  } finally {
    await router.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keyDir with rotation saves each rotated pair to keyRotationDir", async () => {
  const dir = await Deno.makeTempDir();
  const router = await startTestRouter();
  const client = new SecureChatCompletion({
    baseUrl: router.url,
    allowHttp: true,
    keySize: 2048,
    keyDir: join(dir, "keys"),
    keyRotationDir: join(dir, "rotated"),
    keyRotationPassword: "another long password",
    keyRotationInterval: 20,
  });
  try {
    await client.create(ask("before"));
    const deadline = Date.now() + 20_000;
    let saved = "";
    while (Date.now() < deadline) {
      saved = await Deno.readTextFile(join(dir, "rotated", "public_key.pem")).catch(() => "");
      if (saved !== "") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(saved, /BEGIN PUBLIC KEY/);
    assert.equal((await stat(join(dir, "rotated", "private_key.pem"))).mode & 0o777, 0o600);
    await client.create(ask("after"));
  } finally {
    await client.dispose();
    await router.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SecureCompletionClient: generateKeys, loadKeys, encryptPayload, decryptResponse, sendSecureRequest", async () => {
  const dir = await Deno.makeTempDir();
  const router = await startTestRouter();
  const client = new SecureCompletionClient({
    baseUrl: router.url,
    allowHttp: true,
    keySize: 2048,
  });
  try {
    const saved = await client.generateKeys({
      keySize: 2048,
      saveToFile: true,
      keyDir: dir,
      password: "long enough pw",
    });
    assert.ok(saved !== undefined);
    const pem = await client.getPublicKeyPem();
    assert.equal(pem, await Deno.readTextFile(saved.publicKeyPath));
    assert.equal(await client.fetchServerPublicKey(), router.publicKeyPem);
    // Raw round trip by hand, as the Python client's users do it.
    const payload = ask("by hand");
    const body = await client.encryptPayload(payload);
    const payloadId = crypto.randomUUID();
    const response = await fetch(`${router.url}/v1/chat/secure_completion`, {
      method: "POST",
      headers: {
        "Content-Type": "application/octet-stream",
        "X-Payload-ID": payloadId,
        "X-Public-Key": encodeURIComponent(pem),
      },
      body: body as Uint8Array<ArrayBuffer>,
    });
    const answer = await client.decryptResponse(
      new Uint8Array(await response.arrayBuffer()),
      payloadId,
    );
    // The answer as the router sent it: typed as JSON, not as a checked chat completion.
    const choices = answer.choices as ReadonlyArray<{ message: { content: unknown } }>;
    assert.equal(choices[0]?.message.content, "Echo: by hand");
    assert.equal(answer._metadata.payload_id, payloadId);
    const sent = await client.sendSecureRequest(ask("sent"), "my-payload-id", undefined, "high");
    assert.equal(sent._metadata.payload_id, "my-payload-id");
    assert.equal(sent._metadata.model_tier, "high");
    // Load the saved pair into a second client.
    const other = new SecureCompletionClient({
      baseUrl: router.url,
      allowHttp: true,
      keySize: 2048,
    });
    await other.loadKeys(saved.privateKeyPath, saved.publicKeyPath, "long enough pw");
    assert.equal(await other.getPublicKeyPem(), pem);
    await assert.rejects(
      other.loadKeys(saved.privateKeyPath, undefined, "wrong password"),
      KeyError,
    );
    await other.dispose();
  } finally {
    await client.dispose();
    await router.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("buffers are zeroed when a request is interrupted and when the client's scope closes", async () => {
  const recorder = makeRecordingSecureBytes();
  const expected = defaultKeyUnwrapping() === "decrypt" ? 4 : 3;
  const scripted = makeScripted(["ok", "hang"]);
  const layer = serviceLayer(scripted, { secureBytes: recorder.layer });
  await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const context = yield* Layer.build(layer);
    const service = yield* Effect.provide(SecureCompletion, context);
    const answer = yield* service.create(ask("completed"));
    assert.equal(answer.choices[0]?.message.content, "Echo: completed");
    // A request interrupted while in flight: its plaintext buffer is released and zeroed too.
    const fiber = yield* Effect.fork(
      Effect.zipRight(service.create(ask("interrupted")), Effect.never),
    );
    // Completed: the request plaintext (sealed as it is, borrowed), the response key's bytes
    // where the cipher decrypts them (Deno), and the opened answer. Hanging: its plaintext.
    yield* untilLent(recorder, expected);
    yield* Fiber.interrupt(fiber);
  })));
  assert.equal(recorder.lent.length, expected);
  const held = recorder.snapshots.map((b) => new TextDecoder().decode(b));
  assert.ok(held[0]!.includes('"completed"'));
  assert.ok(held[expected - 2]!.includes("Echo: completed"));
  assert.ok(held[expected - 1]!.includes('"interrupted"'));
  if (expected === 4) assert.equal(recorder.lent[1]!.length, 32);
  assert.deepEqual(new Set(recorder.wiped), new Set(recorder.lent));
  recorder.lent.forEach((b, i) => {
    assert.ok(recorder.snapshots[i]!.some((x) => x !== 0), `buffer ${i} held data`);
    assert.ok(b.every((x) => x === 0), `buffer ${i} zeroed`);
  });
});
