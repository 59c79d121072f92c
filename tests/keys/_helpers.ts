/** Shared helpers of the key tests. */
import assert from "node:assert/strict";
import { Cause, Effect, Exit, Option } from "effect";
import { layerSecureBytes, type SecureBytes } from "../../src/crypto/secure_bytes.ts";
import { KeyError, type KeyErrorReason } from "../../src/errors.ts";
import type { RsaKeyPair } from "../../src/keys/rsa_key.ts";
import { generateRsaKeyPair } from "../../src/keys/rsa_key_generation.ts";

/** The URL of a key vector. */
export const vectorUrl = (name: string): URL => new URL(`../vectors/keys/${name}`, import.meta.url);

/** A key vector as text. */
export const readVector = (name: string): Promise<string> => Deno.readTextFile(vectorUrl(name));

/** A key vector as bytes. */
export const readVectorBytes = (name: string): Promise<Uint8Array<ArrayBuffer>> =>
  Deno.readFile(vectorUrl(name));

/** Runs `eff`, expecting success; a failure or defect fails the test with its cause. */
export const succeed = async <A, E>(eff: Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(eff);
  if (Exit.isFailure(exit)) assert.fail(`expected success, got ${Cause.pretty(exit.cause)}`);
  return exit.value;
};

/**
 * Runs `eff`, expecting a `KeyError` failure (not a defect, not success), optionally with
 * `reason`; also checks the error has no cause (causes could carry secrets).
 */
export const failWith = async <A, E>(
  eff: Effect.Effect<A, E>,
  reason?: KeyErrorReason,
): Promise<KeyError> => {
  const exit = await Effect.runPromiseExit(eff);
  if (Exit.isSuccess(exit)) assert.fail("expected a KeyError, got success");
  const failure = Cause.failureOption(exit.cause);
  if (Option.isNone(failure)) assert.fail(`expected a KeyError, got ${Cause.pretty(exit.cause)}`);
  const e = failure.value;
  assert.ok(e instanceof KeyError, `expected a KeyError, got ${String(e)}`);
  if (reason !== undefined) assert.equal(e.reason, reason, e.message);
  assert.equal(e.cause, undefined);
  assert.match(e.message, /^Cannot [a-z]/);
  return e;
};

/** Asserts none of `secrets` shows anywhere in the error (message, string form, JSON, stack). */
export const assertNoSecrets = (e: KeyError, secrets: ReadonlyArray<string>): void => {
  const text = [
    e.message,
    String(e),
    JSON.stringify(e),
    e.stack ?? "",
    JSON.stringify(Object.entries(e)),
  ].join(
    "\n",
  );
  for (const s of secrets) {
    assert.ok(s.length >= 6, "secret probe too short to mean anything");
    assert.ok(!text.includes(s), "an error shows a secret");
  }
};

/** Base64 chunks of a PEM body, as probes for {@linkcode assertNoSecrets}. */
export const bodyProbes = (pem: string): string[] =>
  pem.split("\n").filter((l) => l.length > 0 && !l.startsWith("-----")).map((l) => l.slice(0, 24));

export { prng, randomBytes } from "../_helpers.ts";

/** Result of an `openssl` run. */
export interface OpensslResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `openssl`. Register the tests that call it with `testNeeding(OPENSSL_MISSING)`
 * (tests/_tools.ts): they are ignored, not passed, where it is missing.
 */
export const openssl = async (args: ReadonlyArray<string>): Promise<OpensslResult> => {
  const out = await new Deno.Command("openssl", {
    args: [...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
};

/** `eff` with the live `SecureBytes`. */
export const live = <A, E>(eff: Effect.Effect<A, E, SecureBytes>): Effect.Effect<A, E> =>
  Effect.provide(eff, layerSecureBytes);

let pairs: Promise<readonly [RsaKeyPair, RsaKeyPair]> | undefined;

/** Two extractable 2048-bit pairs, generated once per test file. */
export const twoKeyPairs = (): Promise<readonly [RsaKeyPair, RsaKeyPair]> =>
  pairs ??= Promise.all([
    Effect.runPromise(generateRsaKeyPair({ bits: 2048, extractable: true })),
    Effect.runPromise(generateRsaKeyPair({ bits: 2048, extractable: true })),
  ]);

/** Runs `fn` in a fresh temporary directory, removed after. */
export const withTempDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = await Deno.makeTempDir({ prefix: "nomyo_keys_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

/** The names in a directory, sorted. */
export const names = async (dir: string): Promise<string[]> =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
