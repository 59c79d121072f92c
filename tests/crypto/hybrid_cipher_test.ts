import assert from "node:assert/strict";
import { Cause, Effect, Either, Exit, Fiber, Layer } from "effect";
import {
  defaultKeyUnwrapping,
  HybridCipher,
  type KeyUnwrapping,
  layerHybridCipher,
  makeHybridCipher,
} from "../../src/crypto/hybrid_cipher.ts";
import { layerSecureBytes, SecureBytes } from "../../src/crypto/secure_bytes.ts";
import { DECRYPTION_FAILED_MESSAGE, SecurityError } from "../../src/errors.ts";
import {
  decodePackage,
  encodePackage,
  parsePackage,
  type SealedPackage,
} from "../../src/protocol/package.ts";
import { fillNullableFields } from "../../src/protocol/chat.ts";
import { toChatCompletion } from "../../src/protocol/response.ts";
import { makeRecordingSecureBytes } from "../../src/testing/recording_secure_bytes.ts";
import {
  failureOf,
  importTestPrivateKey,
  importTestPublicKey,
  pemToDer,
  runExit,
  untilLent,
  vectorJson,
  vectorText,
} from "../_helpers.ts";

interface ResponseVector {
  name: string;
  package: unknown;
  expect: "ok" | "reject";
  kind?: "format" | "crypto";
  plaintext?: string;
}
interface Responses {
  packages: ResponseVector[];
  raw_bodies: { name: string; body: string }[];
  client_public_key_spki_sha256: string;
}
interface RequestVector {
  name: string;
  package: unknown;
  plaintext: string;
  headers: Record<string, string>;
}

const responses = await vectorJson<Responses>("protocol/responses.json");
const requests = await vectorJson<{ requests: RequestVector[] }>("protocol/requests.json");
const clientPrivate = await importTestPrivateKey(
  await vectorText("protocol/client_private_key.pem"),
);
const serverPrivate = await importTestPrivateKey(
  await vectorText("protocol/server_private_key.pem"),
);
const serverPublic = await importTestPublicKey(await vectorText("protocol/server_public_key.pem"));

const cipherLayer = layerHybridCipher.pipe(Layer.provide(layerSecureBytes));
const MODES = ["unwrapKey", "decrypt"] as const;
/** The cipher with a given key unwrapping, on the given SecureBytes. */
const cipherWith = (
  keyUnwrapping: KeyUnwrapping,
  secureBytes: Layer.Layer<SecureBytes> = layerSecureBytes,
): Layer.Layer<HybridCipher> =>
  Layer.effect(HybridCipher, Effect.map(SecureBytes, (s) => makeHybridCipher(s, { keyUnwrapping })))
    .pipe(Layer.provide(secureBytes));
const utf8 = new TextEncoder();

/** Decodes and opens a package value; the plaintext is copied out before the scope closes. */
const openValue = (value: unknown, key: CryptoKey, payloadId = "pid") =>
  Effect.gen(function* () {
    const cipher = yield* HybridCipher;
    const decoded = yield* decodePackage(value, payloadId);
    return yield* Effect.scoped(
      Effect.map(cipher.open(decoded, key, payloadId), (b) => b.slice()),
    );
  });

Deno.test("HybridCipher.open() opens every ok response vector to exactly its plaintext, both key unwrappings", async () => {
  const ok = responses.packages.filter((v) => v.expect === "ok");
  assert.ok(ok.length >= 8);
  for (const mode of MODES) {
    for (const v of ok) {
      const exit = await runExit(openValue(v.package, clientPrivate), cipherWith(mode));
      assert.ok(Exit.isSuccess(exit), `${v.name} (${mode})`);
      assert.deepEqual(exit.value, utf8.encode(v.plaintext), `${v.name} (${mode})`);
    }
  }
});

Deno.test("toChatCompletion() keeps the plaintext and sets _metadata as PROTOCOL.md says", async () => {
  for (const v of responses.packages.filter((v) => v.expect === "ok")) {
    const decoded = Either.getOrThrow(decodePackage(v.package, "pid-1"));
    const bytes = await Effect.runPromise(
      Effect.provide(openValue(v.package, clientPrivate, "pid-1"), cipherLayer),
    );
    const completion = Either.getOrThrow(toChatCompletion(bytes, decoded, "pid-1"));
    const expected = JSON.parse(v.plaintext!) as Record<string, unknown>;
    // Absent `refusal` / `logprobs` read as null (OpenAI's type); everything else is kept.
    fillNullableFields(expected);
    const fromRouter = (expected._metadata ?? {}) as Record<string, unknown>;
    const { _metadata, ...rest } = completion;
    const { _metadata: _ignored, ...expectedRest } = expected;
    assert.deepEqual(rest, expectedRest, v.name);
    assert.deepEqual(_metadata, {
      ...fromRouter,
      payload_id: "pid-1",
      processed_at: (v.package as { processed_at: number }).processed_at,
      is_encrypted: true,
      encryption_algorithm: "hybrid-aes256-rsa4096",
      response_status: "success",
    }, v.name);
  }
  // The __proto__ vector: the key stays an own property, nothing reaches Object.prototype.
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(Object.prototype), null);
});

Deno.test("HybridCipher.open() refuses every reject vector; crypto refusals share one message", async () => {
  const rejects = responses.packages.filter((v) => v.expect === "reject");
  assert.ok(rejects.length >= 20);
  const cryptoMessages = new Set<string>();
  for (const [mode, v] of MODES.flatMap((m) => rejects.map((v) => [m, v] as const))) {
    const exit = await runExit(
      Effect.gen(function* () {
        const bytes = yield* openValue(v.package, clientPrivate, "pid-r");
        const decoded = Either.getOrThrow(decodePackage(v.package));
        return yield* toChatCompletion(bytes, decoded, "pid-r");
      }),
      cipherWith(mode),
    );
    const error = failureOf(exit);
    assert.ok(error instanceof SecurityError, `${v.name} (${mode})`);
    assert.equal(error.payloadId, "pid-r", v.name);
    if (v.kind === "crypto") {
      assert.equal(error.reason, "DecryptionFailed", v.name);
      cryptoMessages.add(error.message);
    } else {
      assert.ok(
        error.reason === "MalformedPackage" || error.reason === "MalformedPlaintext",
        `${v.name}: ${error.reason}`,
      );
      assert.notEqual(error.message, DECRYPTION_FAILED_MESSAGE, v.name);
    }
  }
  assert.deepEqual([...cryptoMessages], [DECRYPTION_FAILED_MESSAGE]);
});

Deno.test("parsePackage() refuses every raw body vector and hostile bodies", () => {
  const hostile = [
    ...responses.raw_bodies.map((b) => utf8.encode(b.body)),
    new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]),
    utf8.encode("{"),
    utf8.encode('"string"'),
    utf8.encode("42"),
    utf8.encode("true"),
    utf8.encode('{"version":"1.0"}'),
    utf8.encode("[".repeat(100_000)),
  ];
  for (const body of hostile) {
    const result = parsePackage(body, "pid");
    assert.ok(Either.isLeft(result));
    assert.equal(result.left.reason, "MalformedPackage");
  }
});

Deno.test("decodePackage() refuses wrong types, non-strict base64 and wrong lengths", () => {
  const good = responses.packages.find((v) => v.name === "vectors-simple")!
    .package as SealedPackage;
  const withPayload = (patch: Record<string, unknown>) => ({
    ...good,
    encrypted_payload: { ...good.encrypted_payload, ...patch },
  });
  const nonce = good.encrypted_payload.nonce;
  const tag = good.encrypted_payload.tag;
  const cases: unknown[] = [
    { ...good, version: 1 },
    { ...good, version: "1.0 " },
    { ...good, algorithm: null },
    { ...good, key_algorithm: "RSA-OAEP" },
    { ...good, payload_algorithm: "AES-128-GCM" },
    { ...good, processed_at: "yesterday" },
    { ...good, encrypted_aes_key: 5 },
    { ...good, encrypted_aes_key: "" },
    { ...good, encrypted_payload: [] },
    withPayload({ nonce: nonce + "AAAA" }),
    withPayload({ nonce: nonce.slice(0, 12) }),
    withPayload({ nonce: ` ${nonce}` }),
    withPayload({ tag: tag.replace("==", "") }),
    withPayload({ tag: tag.replace(/\+/g, "-").replace(/\//g, "_") + "x" }),
    withPayload({ tag: `${tag}\n` }),
    withPayload({ tag: tag.slice(0, 20) + "Ax==" }), // non-zero padding bits: not canonical
    withPayload({ ciphertext: good.encrypted_payload.ciphertext + "=" }),
    withPayload({ ciphertext: good.encrypted_payload.ciphertext.replace(/\+/g, "-") + "-" }),
    withPayload({ ciphertext: 7 }),
    withPayload({ tag: undefined }),
  ];
  for (const [i, value] of cases.entries()) {
    const result = decodePackage(value);
    assert.ok(Either.isLeft(result), `case ${i}`);
    assert.equal(result.left.reason, "MalformedPackage", `case ${i}`);
  }
});

Deno.test("HybridCipher.open() opens the Python client's request vectors on the router side", async () => {
  assert.ok(requests.requests.length >= 2);
  for (const v of requests.requests) {
    const exit = await runExit(openValue(v.package, serverPrivate), cipherLayer);
    assert.ok(Exit.isSuccess(exit), v.name);
    assert.deepEqual(exit.value, utf8.encode(v.plaintext), v.name);
  }
});

/** Opens a package with plain WebCrypto calls written here, sharing no code with src/. */
const independentOpen = async (json: Uint8Array, key: CryptoKey): Promise<Uint8Array> => {
  const pkg = JSON.parse(new TextDecoder().decode(json));
  const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  assert.equal(pkg.version, "1.0");
  assert.equal(pkg.algorithm, "hybrid-aes256-rsa4096");
  assert.equal(pkg.key_algorithm, "RSA-OAEP-SHA256");
  assert.equal(pkg.payload_algorithm, "AES-256-GCM");
  const rawKey = new Uint8Array(
    await crypto.subtle.decrypt({ name: "RSA-OAEP" }, key, b64(pkg.encrypted_aes_key)),
  );
  assert.equal(rawKey.length, 32);
  const aes = await crypto.subtle.importKey("raw", rawKey, "AES-GCM", false, ["decrypt"]);
  const nonce = b64(pkg.encrypted_payload.nonce);
  const tag = b64(pkg.encrypted_payload.tag);
  assert.equal(nonce.length, 12);
  assert.equal(tag.length, 16);
  const ct = b64(pkg.encrypted_payload.ciphertext);
  const joined = new Uint8Array(ct.length + 16);
  joined.set(ct);
  joined.set(tag, ct.length);
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, aes, joined));
};

Deno.test("HybridCipher.seal() makes packages an independent WebCrypto opener reads", async () => {
  const texts = [
    "{}",
    JSON.stringify({ model: "m", messages: [{ role: "user", content: "Grüße 🚀" }] }),
    "x".repeat(70_000),
  ];
  for (const text of texts) {
    const pkg = await Effect.runPromise(
      Effect.provide(
        Effect.flatMap(HybridCipher, (c) => c.seal(utf8.encode(text), serverPublic)),
        cipherLayer,
      ),
    );
    const opened = await independentOpen(encodePackage(pkg), serverPrivate);
    assert.equal(new TextDecoder().decode(opened), text);
  }
});

Deno.test("HybridCipher zeroes every plaintext buffer when its scope closes, also on failure", async () => {
  const recorder = makeRecordingSecureBytes();
  const layer = cipherWith("unwrapKey", recorder.layer);
  // Sealing: the plaintext handed in is zeroed after sealing.
  const sealedText = utf8.encode('{"secret":"canary-plaintext"}');
  const pkg = await Effect.runPromise(
    Effect.provide(Effect.flatMap(HybridCipher, (c) => c.seal(sealedText, serverPublic)), layer),
  );
  assert.ok(sealedText.every((b) => b === 0));
  // Opening, success: the plaintext is zeroed once the scope closes.
  const okExit = await runExit(openValue(encodeAndParse(pkg), serverPrivate), layer);
  assert.ok(Exit.isSuccess(okExit));
  // Opening, the work inside the scope fails after decryption (plaintext not JSON).
  const notJson = responses.packages.find((v) => v.name === "vectors-plaintext-not-json")!;
  const failExit = await runExit(
    Effect.scoped(Effect.gen(function* () {
      const cipher = yield* HybridCipher;
      const decoded = yield* decodePackage(notJson.package);
      const bytes = yield* cipher.open(decoded, clientPrivate);
      return yield* toChatCompletion(bytes, decoded, "pid");
    })),
    layer,
  );
  assert.equal(failureOf(failExit).reason, "MalformedPlaintext");
  // Opening, interrupted while the scope is open.
  const interruptExit = await runExit(
    Effect.gen(function* () {
      const cipher = yield* HybridCipher;
      const decoded = yield* decodePackage(encodeAndParse(pkg));
      const fiber = yield* Effect.fork(Effect.scoped(
        Effect.zipRight(cipher.open(decoded, serverPrivate), Effect.never),
      ));
      yield* Effect.yieldNow();
      yield* untilLent(recorder, 4);
      yield* Fiber.interrupt(fiber);
    }),
    layer,
  );
  assert.ok(Exit.isSuccess(interruptExit));
  assert.equal(recorder.lent.length, 4);
  assert.deepEqual(recorder.wiped, recorder.lent);
  for (const [i, buffer] of recorder.lent.entries()) {
    assert.ok(recorder.snapshots[i]!.some((b) => b !== 0), `buffer ${i} held data`);
    assert.ok(buffer.every((b) => b === 0), `buffer ${i} is zeroed`);
  }
});

const encodeAndParse = (pkg: SealedPackage): unknown =>
  JSON.parse(new TextDecoder().decode(encodePackage(pkg)));

/** A throwaway RSA-OAEP-2048 pair (2048 bits: fast enough to make in a test). */
const rsa2048 = (hash: string, usages: KeyUsage[]): Promise<CryptoKeyPair> =>
  crypto.subtle.generateKey(
    { name: "RSA-OAEP", hash, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    false,
    usages,
  );

Deno.test("HybridCipher.seal() never repeats a nonce, wrapped key or AES key over 10,000 packages", async () => {
  const small = await rsa2048("SHA-256", ["wrapKey", "unwrapKey"]);
  const packages = await Effect.runPromise(Effect.provide(
    Effect.flatMap(HybridCipher, (c) =>
      Effect.forEach(
        Array.from({ length: 10_000 }, () => utf8.encode("same plaintext")),
        (p) => c.seal(p, small.publicKey),
        { concurrency: 16 },
      )),
    cipherLayer,
  ));
  const nonces = new Set(packages.map((p) => p.encrypted_payload.nonce));
  const wrapped = new Set(packages.map((p) => p.encrypted_aes_key));
  const ciphertexts = new Set(packages.map((p) => p.encrypted_payload.ciphertext));
  assert.equal(nonces.size, 10_000);
  assert.equal(wrapped.size, 10_000);
  // Same plaintext: equal ciphertexts would mean a repeated (key, nonce) pair.
  assert.equal(ciphertexts.size, 10_000);
  // Unwrap a sample of the AES keys themselves (RSA-2048 private operations are slow).
  const keys = new Set<string>();
  for (const p of packages.slice(0, 300)) {
    const raw = await crypto.subtle.unwrapKey(
      "raw",
      pemToDer(p.encrypted_aes_key.replace(/(.{64})/g, "$1\n")),
      small.privateKey,
      { name: "RSA-OAEP" },
      "AES-GCM",
      true,
      ["decrypt"],
    );
    keys.add(new Uint8Array(await crypto.subtle.exportKey("raw", raw)).join(","));
  }
  assert.equal(keys.size, 300);
});

Deno.test("HybridCipher.sealToBody() makes bodies an independent opener reads, and borrows its input", async () => {
  const recorder = makeRecordingSecureBytes();
  const layer = layerHybridCipher.pipe(Layer.provide(recorder.layer));
  for (const text of ['{"secret":"canary"}', "é".repeat(40_000), "x".repeat(200_000)]) {
    const plaintext = utf8.encode(text);
    const body = await Effect.runPromise(
      Effect.provide(
        Effect.flatMap(HybridCipher, (c) => c.sealToBody(plaintext, serverPublic)),
        layer,
      ),
    );
    assert.equal(new TextDecoder().decode(await independentOpen(body, serverPrivate)), text);
    // Borrowed: the owner's scope zeroes it (SecureCompletion's request scope), not sealToBody.
    assert.deepEqual(plaintext, utf8.encode(text));
  }
  assert.equal(recorder.lent.length, 0);
});

/**
 * A package sealed to the server key with a recording SecureBytes, and `openWith` on it (the
 * sealed plaintext is the recorder's first buffer).
 */
const canaryPackage = async (mode: KeyUnwrapping) => {
  const recorder = makeRecordingSecureBytes();
  const layer = cipherWith(mode, recorder.layer);
  const text = '{"answer":"canary-response"}';
  const pkg = await Effect.runPromise(
    Effect.provide(
      Effect.flatMap(HybridCipher, (c) => c.seal(utf8.encode(text), serverPublic)),
      layer,
    ),
  );
  const decoded = Either.getOrThrow(decodePackage(encodeAndParse(pkg)));
  const openWith = <A, E>(use: (b: Uint8Array) => Effect.Effect<A, E>, key = serverPrivate) =>
    Effect.flatMap(HybridCipher, (c) => c.openWith(decoded, key, use, "pid"));
  return { recorder, layer, text, decoded, openWith };
};

Deno.test("HybridCipher.openWith() lends the plaintext to `use` and zeroes it however `use` ends", async () => {
  const { recorder, layer, text, openWith } = await canaryPackage("unwrapKey");
  // Success: `use` sees the plaintext; its result comes back.
  const ok = await runExit(openWith((b) => Effect.sync(() => new TextDecoder().decode(b))), layer);
  assert.ok(Exit.isSuccess(ok));
  assert.equal(ok.value, text);
  // `use` fails: its error comes back unchanged.
  const failed = await runExit(openWith(() => Effect.fail("use failed" as const)), layer);
  assert.equal(failureOf(failed), "use failed");
  // `use` dies.
  const died = await runExit(openWith(() => Effect.die(new Error("boom"))), layer);
  assert.ok(Exit.isFailure(died));
  // Interrupted while `use` runs.
  const interrupted = await runExit(
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(openWith(() => Effect.never));
      yield* untilLent(recorder, 5);
      yield* Fiber.interrupt(fiber);
    }),
    layer,
  );
  assert.ok(Exit.isSuccess(interrupted));
  // The wrong key: the one decryption message, and nothing is lent.
  const wrongKey = await runExit(openWith(() => Effect.void, clientPrivate), layer);
  const error = failureOf(wrongKey);
  assert.ok(error instanceof SecurityError);
  assert.equal(error.reason, "DecryptionFailed");
  assert.equal(error.message, DECRYPTION_FAILED_MESSAGE);
  // One buffer from seal(), four from openWith(); each held the plaintext and is now zeroed.
  assert.equal(recorder.lent.length, 5);
  assert.deepEqual(recorder.wiped, recorder.lent);
  for (const [i, buffer] of recorder.lent.entries()) {
    assert.equal(new TextDecoder().decode(recorder.snapshots[i]), text, `buffer ${i}`);
    assert.ok(buffer.every((b) => b === 0), `buffer ${i} is zeroed`);
  }
});

Deno.test('HybridCipher with "decrypt" unwrapping zeroes the response key bytes, also on failure and interruption', async () => {
  const { recorder, layer, decoded, openWith } = await canaryPackage("decrypt");
  const text = '{"answer":"canary-response"}';
  // Opened: the key buffer and the plaintext.
  const ok = await runExit(openWith((b) => Effect.sync(() => new TextDecoder().decode(b))), layer);
  assert.ok(Exit.isSuccess(ok));
  assert.equal(ok.value, text);
  // The tag fails after the key was recovered: the key buffer, no plaintext.
  const tampered = { ...decoded, sealed: decoded.sealed.map((b, i) => i === 0 ? b ^ 1 : b) };
  const badTag = await runExit(
    Effect.flatMap(HybridCipher, (c) => c.openWith(tampered, serverPrivate, () => Effect.void)),
    layer,
  );
  assert.equal(failureOf(badTag).message, DECRYPTION_FAILED_MESSAGE);
  // Interrupted while the RSA step runs: its key buffer is still made, and zeroed.
  const interrupted = await runExit(
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(openWith(() => Effect.never));
      yield* Effect.sleep("2 millis");
      yield* Fiber.interrupt(fiber);
    }),
    layer,
  );
  assert.ok(Exit.isSuccess(interrupted));
  // A key of another RSA pair: refused with the one message; nothing is lent.
  const wrong = await runExit(openWith(() => Effect.void, clientPrivate), layer);
  assert.equal(failureOf(wrong).message, DECRYPTION_FAILED_MESSAGE);
  // seal: 1 plaintext. ok: key + plaintext. bad tag: key. interrupted: key (+ maybe plaintext).
  const keys = recorder.lent.filter((b) => b.length === 32);
  assert.equal(keys.length, 3);
  assert.deepEqual(recorder.wiped, recorder.lent);
  for (const [i, buffer] of recorder.lent.entries()) {
    assert.ok(recorder.snapshots[i]!.some((b) => b !== 0), `buffer ${i} held data`);
    assert.ok(buffer.every((b) => b === 0), `buffer ${i} is zeroed`);
  }
});

Deno.test("HybridCipher dies with a TypeError on a key of the wrong kind, in either unwrapping; Deno defaults to decrypt", async () => {
  assert.equal(defaultKeyUnwrapping(), "decrypt");
  const { decoded } = await canaryPackage("unwrapKey");
  const aes = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["decrypt"]);
  const sha1 = await rsa2048("SHA-1", ["decrypt", "unwrapKey"]);
  const unwrapOnly = await rsa2048("SHA-256", ["unwrapKey"]); // no `decrypt` usage
  const cases: Array<[KeyUnwrapping, CryptoKey]> = [
    ["unwrapKey", aes],
    ["decrypt", aes],
    ["unwrapKey", sha1.privateKey],
    ["decrypt", sha1.privateKey],
    ["decrypt", unwrapOnly.privateKey],
  ];
  for (const [mode, key] of cases) {
    const exit = await runExit(
      Effect.flatMap(HybridCipher, (c) => c.openWith(decoded, key, () => Effect.void)),
      cipherWith(mode),
    );
    assert.ok(Exit.isFailure(exit), mode);
    assert.ok(Cause.squash(exit.cause) instanceof TypeError, `${mode}: a defect, not a failure`);
  }
});
