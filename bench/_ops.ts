/**
 * What the benches time, per payload size: the project's request path (sealing a request into
 * its package bytes, opening a response body into a `ChatCompletion`) and its floor, the raw
 * WebCrypto operations the protocol cannot avoid. Inputs are made beforehand; each operation is
 * a thunk returning a promise. Runtime-neutral: used by `deno bench` and by `cross_runtime.ts`.
 *
 * @module
 */
import { Effect } from "effect";
import { makeHybridCipher } from "../src/crypto/hybrid_cipher.ts";
import { makeSecureBytes } from "../src/crypto/secure_bytes.ts";
import { type DecodedPackage, parsePackage, type SealedPackage } from "../src/protocol/package.ts";
import { toChatCompletion } from "../src/protocol/response.ts";
import type { ChatCompletion } from "../src/protocol/chat.ts";
import { type BenchKeys, completionOfSize, requestOfSize, type Size } from "./_fixtures.ts";

/** One timed operation. */
export type Op = () => Promise<void>;

/** The operations of one payload size. */
export interface CipherCase {
  /** The size. */
  readonly size: Size;
  /** Floor of sealing: AES-256-GCM encrypt of the request ‖ one RSA-OAEP wrap. */
  readonly floorSeal: Op;
  /** Floor of opening: one RSA-OAEP unwrap, then AES-256-GCM decrypt of the response. */
  readonly floorOpen: Op;
  /** Both floors, one after the other. */
  readonly floorBoth: Op;
  /**
   * Both floors, then what every client pays for an answer, encrypted or not: decoding the
   * response's UTF-8 and `JSON.parse` (as `fetch`'s `response.json()` does).
   */
  readonly floorBothJson: Op;
  /** The client's sealing: `sealToBody` (the plaintext borrowed, as the client does). */
  readonly seal: Op;
  /** The client's opening: `parsePackage`, `openWith` → `toChatCompletion`. */
  readonly open: Op;
  /** Sealing then opening, as one request costs the client. */
  readonly both: Op;
  /** Bytes on the wire: the request package and the response package. */
  readonly wire: { readonly request: number; readonly response: number };
}

const OAEP = { name: "RSA-OAEP" } as const;
const AES = { name: "AES-GCM", length: 256 } as const;
const utf8 = new TextEncoder();

/** The body a router answers: the sealed package with `processed_at`, as UTF-8 JSON. */
const routerAnswer = (pkg: SealedPackage): Uint8Array<ArrayBuffer> =>
  utf8.encode(JSON.stringify({ ...pkg, processed_at: 1_700_000_000 }));

/**
 * Prepares the operations of one payload size.
 *
 * @param size The payload size (request and response plaintext).
 * @param keys Both ends' keys.
 * @returns The operations, checked once (the client's open must give back the completion).
 */
export const makeCipherCase = async (size: Size, keys: BenchKeys): Promise<CipherCase> => {
  const cipher = makeHybridCipher(makeSecureBytes());
  const request = requestOfSize(size.bytes).json;
  const response = completionOfSize(size.bytes);
  const routerKey = keys.routerPublic.key;
  const clientPublic = keys.client.publicKey.key;
  const clientPrivate = keys.client.privateKey;
  const payloadId = "0b6f6f5e-3c5c-4b8e-9a57-3f0c7c1d2e4f";

  // --- the client's path (as SecureCompletion's attempt() runs it) ---
  const sealEffect = Effect.suspend(() =>
    // Borrowed, as the client does: its request scope zeroes the plaintext once, at the end.
    cipher.sealToBody(request, routerKey)
  );
  const responseBody = routerAnswer(
    await Effect.runPromise(cipher.seal(response.slice(), clientPublic)),
  );
  const openEffect = Effect.suspend(() =>
    Effect.flatMap(
      parsePackage(responseBody, payloadId),
      (decoded: DecodedPackage) =>
        cipher.openWith(
          decoded,
          clientPrivate,
          (opened) => toChatCompletion(opened, decoded, payloadId),
          payloadId,
        ),
    )
  );
  const bothEffect = Effect.zipRight(sealEffect, openEffect);
  const seal: Op = async () => {
    await Effect.runPromise(sealEffect);
  };
  const open: Op = async () => {
    await Effect.runPromise(openEffect);
  };
  const both: Op = async () => {
    await Effect.runPromise(bothEffect);
  };

  // --- the floor: the WebCrypto calls alone, inputs made beforehand ---
  const sealKey = await crypto.subtle.generateKey(AES, true, ["encrypt"]);
  const sealIv = crypto.getRandomValues(new Uint8Array(12));
  const floorSeal: Op = async () => {
    await Promise.all([
      crypto.subtle.encrypt({ name: "AES-GCM", iv: sealIv }, sealKey, request),
      crypto.subtle.wrapKey("raw", sealKey, routerKey, OAEP),
    ]);
  };
  const openKey = await crypto.subtle.generateKey(AES, true, ["encrypt"]);
  const openIv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await crypto.subtle.wrapKey("raw", openKey, clientPublic, OAEP);
  const sealedResponse = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: openIv },
    openKey,
    response,
  );
  const floorOpen: Op = async () => {
    const key = await crypto.subtle.unwrapKey(
      "raw",
      wrapped,
      clientPrivate,
      OAEP,
      "AES-GCM",
      false,
      [
        "decrypt",
      ],
    );
    await crypto.subtle.decrypt({ name: "AES-GCM", iv: openIv }, key, sealedResponse);
  };
  const floorBoth: Op = async () => {
    await floorSeal();
    await floorOpen();
  };
  const plainDecoder = new TextDecoder();
  const floorBothJson: Op = async () => {
    await floorBoth();
    if (JSON.parse(plainDecoder.decode(response)) === null) throw new Error("unreachable");
  };

  // Check once that the path under test does what it should.
  const opened: ChatCompletion = await Effect.runPromise(openEffect);
  const expected = JSON.parse(new TextDecoder().decode(response)) as ChatCompletion;
  if (opened.choices[0]?.message.content !== expected.choices[0]?.message.content) {
    throw new Error(`Cannot bench ${size.label}: the opened completion differs`);
  }
  const requestBody = await Effect.runPromise(sealEffect);
  return {
    size,
    floorSeal,
    floorOpen,
    floorBoth,
    floorBothJson,
    seal,
    open,
    both,
    wire: { request: requestBody.length, response: responseBody.length },
  };
};
