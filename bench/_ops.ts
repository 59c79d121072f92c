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
  /**
   * The protocol's floor: everything any client of this protocol must do for one request, each
   * step with the runtime's fastest built-in and nothing checked: a fresh AES key (one per
   * message), both floors, the base64 of the request ciphertext and the decoding of the
   * response's, then the UTF-8 decoding and `JSON.parse` of the answer.
   */
  readonly floorProtocol: Op;
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

/**
 * The runtime's own base64, lenient, for the floor: `Uint8Array`'s where it has one (Deno, Bun),
 * else Node's `Buffer`, found on `globalThis`.
 */
const builtinBase64: {
  readonly encode: (bytes: Uint8Array) => string;
  readonly decode: (text: string) => Uint8Array<ArrayBuffer>;
} = (() => {
  const native = Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array<ArrayBuffer> };
  const proto = Uint8Array.prototype as unknown as { toBase64?: () => string };
  if (typeof native.fromBase64 === "function" && typeof proto.toBase64 === "function") {
    return {
      encode: (bytes) => (bytes as unknown as { toBase64: () => string }).toBase64(),
      decode: (text) => native.fromBase64!(text),
    };
  }
  const B = (globalThis as unknown as {
    Buffer: {
      from(b: ArrayBufferLike, o: number, l: number): { toString(e: "base64"): string };
      from(s: string, e: "base64"): Uint8Array<ArrayBuffer>;
    };
  }).Buffer;
  return {
    encode: (bytes) => B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"),
    decode: (text) => B.from(text, "base64"),
  };
})();

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
  /** One RSA-OAEP unwrap of the response key, then the AES-GCM decryption of `sealed`. */
  const openFloor = async (sealed: BufferSource): Promise<ArrayBuffer> => {
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
    return await crypto.subtle.decrypt({ name: "AES-GCM", iv: openIv }, key, sealed);
  };
  const floorOpen: Op = async () => {
    await openFloor(sealedResponse);
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
  const responseText = builtinBase64.encode(new Uint8Array(sealedResponse));
  const floorProtocol: Op = async () => {
    const [fresh, sealed] = await Promise.all([
      crypto.subtle.generateKey(AES, true, ["encrypt"]),
      crypto.subtle.encrypt({ name: "AES-GCM", iv: sealIv }, sealKey, request),
      crypto.subtle.wrapKey("raw", sealKey, routerKey, OAEP),
    ]);
    if (builtinBase64.encode(new Uint8Array(sealed)).length === 0 || fresh === null) {
      throw new Error("unreachable");
    }
    const plaintext = await openFloor(builtinBase64.decode(responseText));
    if (JSON.parse(plainDecoder.decode(plaintext)) === null) throw new Error("unreachable");
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
    floorProtocol,
    seal,
    open,
    both,
    wire: { request: requestBody.length, response: responseBody.length },
  };
};
