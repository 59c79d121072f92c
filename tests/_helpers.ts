/**
 * Test helpers shared by the suites: vector loading and a PEM reader written independently of
 * `src/keys` (so that tests of the cipher do not depend on the code under test for keys).
 */
import { Cause, Effect, Exit, type Layer, Option } from "effect";
import { readFile } from "node:fs/promises";

/** Reads a file under tests/vectors as text. */
export const vectorText = (path: string): Promise<string> =>
  readFile(new URL(`./vectors/${path}`, import.meta.url), "utf8");

/** Reads and parses a JSON file under tests/vectors. */
export const vectorJson = async <T = unknown>(path: string): Promise<T> =>
  JSON.parse(await vectorText(path)) as T;

/** DER bytes of the first PEM block (test-only, independent of src/keys). */
export const pemToDer = (pem: string): Uint8Array<ArrayBuffer> => {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
};

/** Imports a PKCS#8 PEM as an RSA-OAEP-SHA256 private key with plain WebCrypto. */
export const importTestPrivateKey = (pem: string): Promise<CryptoKey> =>
  crypto.subtle.importKey("pkcs8", pemToDer(pem), { name: "RSA-OAEP", hash: "SHA-256" }, false, [
    "decrypt",
    "unwrapKey",
  ]);

/** Imports an SPKI PEM as an RSA-OAEP-SHA256 public key with plain WebCrypto. */
export const importTestPublicKey = (pem: string): Promise<CryptoKey> =>
  crypto.subtle.importKey("spki", pemToDer(pem), { name: "RSA-OAEP", hash: "SHA-256" }, true, [
    "encrypt",
    "wrapKey",
  ]);

/** Hex to bytes. */
export const hex = (s: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

/** Runs an effect with a layer and returns its Exit. */
export const runExit = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  layer: Layer.Layer<R, never, never>,
): Promise<Exit.Exit<A, E>> => Effect.runPromiseExit(Effect.provide(effect, layer));

/** The failure value of an Exit (throws when it succeeded or died). */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success");
  const failure = Cause.failureOption(exit.cause);
  if (Option.isNone(failure)) {
    throw new Error(`expected a typed failure: ${Cause.pretty(exit.cause)}`);
  }
  return failure.value;
};
