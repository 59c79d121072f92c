/**
 * Inputs shared by the benches: payload sizes, chat requests and completions whose UTF-8 JSON is
 * exactly a given number of bytes, and the RSA keys of both ends. Runtime-neutral (no `Deno`
 * API), so the same code runs under Deno, Node and Bun.
 *
 * @module
 */
import { Effect } from "effect";
import type { RsaKeyPair, RsaPublicKey } from "../src/keys/rsa_key.ts";
import { generateRsaKeyPair } from "../src/keys/rsa_key_generation.ts";
import { importPublicKeyPem } from "../src/keys/rsa_key_import_export.ts";
import type { ChatCompletionRequest } from "../src/protocol/chat.ts";

/** A payload size of the benches. */
export interface Size {
  /** Label, e.g. `"1 KiB"`. */
  readonly label: string;
  /** Bytes of UTF-8 JSON plaintext, in each direction. */
  readonly bytes: number;
}

/** The payload sizes: 1 KiB, 64 KiB and 1 MiB of plaintext JSON in each direction. */
export const SIZES: ReadonlyArray<Size> = [
  { label: "1 KiB", bytes: 1024 },
  { label: "64 KiB", bytes: 64 * 1024 },
  { label: "1 MiB", bytes: 1024 * 1024 },
];

const WORDS = [
  "the",
  "router",
  "seals",
  "every",
  "answer",
  "to",
  "a",
  "fresh",
  "key",
  "and",
  "nonce",
  "prompt",
  "model",
  "token",
  "latency",
  "encrypted",
  "payload",
  "of",
  "chat",
  "completion",
];

/**
 * Deterministic chat-like ASCII text: words, punctuation, and a newline and a quoted word now
 * and then (so JSON has escapes to write and read, as real messages do).
 *
 * @param chars At least this many characters.
 * @returns The text.
 */
export const chatText = (chars: number): string => {
  const parts: string[] = [];
  let length = 0;
  let i = 0;
  while (length < chars) {
    const word = WORDS[(i * 7 + (i >> 3)) % WORDS.length]!;
    const piece = i % 41 === 40 ? `"${word}".\n` : i % 13 === 12 ? `${word}, ` : `${word} `;
    parts.push(piece);
    length += piece.length;
    i++;
  }
  return parts.join("");
};

const utf8 = new TextEncoder();

/** Trims or pads `make(text)` until its JSON is exactly `bytes` long. */
const exactly = (bytes: number, make: (text: string) => unknown): Uint8Array<ArrayBuffer> => {
  const empty = utf8.encode(JSON.stringify(make(""))).length;
  let text = chatText(Math.max(0, bytes - empty));
  for (let round = 0; round < 64; round++) {
    const json = utf8.encode(JSON.stringify(make(text)));
    if (json.length === bytes) return json;
    text = json.length > bytes
      ? text.slice(0, text.length - (json.length - bytes))
      : text + "x".repeat(bytes - json.length);
  }
  throw new Error(`Cannot build a payload of exactly ${bytes} bytes`);
};

/**
 * A chat completion request whose UTF-8 JSON is exactly `bytes` long (a system and a user
 * message; the user message carries the bulk).
 *
 * @param bytes Size of the request plaintext.
 * @returns The request object and its JSON bytes.
 */
export const requestOfSize = (
  bytes: number,
): { readonly request: ChatCompletionRequest; readonly json: Uint8Array<ArrayBuffer> } => {
  const make = (text: string): ChatCompletionRequest => ({
    model: "echo",
    messages: [
      { role: "system", content: "You are a terse assistant." },
      { role: "user", content: text },
    ],
    temperature: 0.2,
  });
  const json = exactly(bytes, make);
  const request = JSON.parse(new TextDecoder().decode(json)) as ChatCompletionRequest;
  return { request, json };
};

/**
 * An OpenAI chat completion whose UTF-8 JSON is exactly `bytes` long, as a router answers.
 *
 * @param bytes Size of the response plaintext.
 * @returns The JSON bytes.
 */
export const completionOfSize = (bytes: number): Uint8Array<ArrayBuffer> =>
  exactly(bytes, (text) => ({
    id: "chatcmpl-0123456789ab",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "echo",
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 },
  }));

/** Both ends' keys, as the client holds them. */
export interface BenchKeys {
  /** The client's pair (as the key ring makes it: non-extractable). */
  readonly client: RsaKeyPair;
  /** The router's pair. */
  readonly router: RsaKeyPair;
  /** The router's public key as the client imports it from the router's PEM. */
  readonly routerPublic: RsaPublicKey;
  /** Modulus length. */
  readonly bits: 2048 | 4096;
}

/**
 * Generates the client's and the router's key pairs, and imports the router's public key from
 * its PEM as the client does.
 *
 * @param bits 4096 (the protocol's) or 2048.
 * @returns The keys.
 */
export const makeKeys = (bits: 2048 | 4096 = 4096): Promise<BenchKeys> =>
  Effect.runPromise(Effect.gen(function* () {
    const [client, router] = yield* Effect.all([
      generateRsaKeyPair({ bits, extractable: false }),
      generateRsaKeyPair({ bits, extractable: false }),
    ], { concurrency: 2 });
    const routerPublic = yield* importPublicKeyPem(router.publicKey.pem);
    return { client, router, routerPublic, bits };
  }));
