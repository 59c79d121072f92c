/**
 * A minimal NOMYO client written from PROTOCOL.md with plain `fetch` and WebCrypto, sharing no
 * code with src/: it checks the test router (and the independent Python router) without
 * depending on the client under development.
 */

const OAEP = { name: "RSA-OAEP", hash: "SHA-256" } as const;

const b64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** A client key pair and its PEM. */
export interface PlainClientKeys {
  readonly publicKey: CryptoKey;
  readonly privateKey: CryptoKey;
  readonly pem: string;
}

/** Generates a client RSA-OAEP key pair (2048 bits unless told). */
export const generateClientKeys = async (bits = 2048): Promise<PlainClientKeys> => {
  const pair = await crypto.subtle.generateKey(
    { ...OAEP, modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ["encrypt", "decrypt"],
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const lines = b64(spki).match(/.{1,64}/g)!.join("\n");
  return {
    publicKey: pair.publicKey,
    privateKey: pair.privateKey,
    pem: `-----BEGIN PUBLIC KEY-----\n${lines}\n-----END PUBLIC KEY-----\n`,
  };
};

/** Imports a PEM SPKI as an RSA-OAEP SHA-256 encryption key. */
export const importPem = (pem: string): Promise<CryptoKey> =>
  crypto.subtle.importKey(
    "spki",
    unb64(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "")),
    OAEP,
    true,
    ["encrypt"],
  );

/** Fetches and imports a router's public key. */
export const fetchRouterKey = async (url: string): Promise<CryptoKey> => {
  const response = await fetch(`${url}/pki/public_key`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`public key: ${response.status} ${text}`);
  return importPem(text);
};

/** Seals `plaintext` (bytes or a JSON value) to `recipient`, as a package object. */
export const seal = async (
  plaintext: unknown,
  recipient: CryptoKey,
): Promise<Record<string, unknown>> => {
  const bytes = plaintext instanceof Uint8Array
    ? plaintext
    : new TextEncoder().encode(JSON.stringify(plaintext));
  const rawKey = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const aes = await crypto.subtle.importKey("raw", rawKey, "AES-GCM", false, ["encrypt"]);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, aes, new Uint8Array(bytes)),
  );
  const wrapped = new Uint8Array(
    await crypto.subtle.encrypt({ name: "RSA-OAEP" }, recipient, rawKey),
  );
  return {
    version: "1.0",
    algorithm: "hybrid-aes256-rsa4096",
    encrypted_payload: {
      ciphertext: b64(sealed.subarray(0, sealed.length - 16)),
      nonce: b64(nonce),
      tag: b64(sealed.subarray(sealed.length - 16)),
    },
    encrypted_aes_key: b64(wrapped),
    key_algorithm: "RSA-OAEP-SHA256",
    payload_algorithm: "AES-256-GCM",
  };
};

/** Opens a response package; throws on any failure. Returns the plaintext bytes. */
export const openBytes = async (pkg: unknown, privateKey: CryptoKey): Promise<Uint8Array> => {
  const p = pkg as {
    version: string;
    algorithm: string;
    encrypted_payload: { ciphertext: string; nonce: string; tag: string };
    encrypted_aes_key: string;
  };
  if (p.version !== "1.0" || p.algorithm !== "hybrid-aes256-rsa4096") {
    throw new Error("downgrade");
  }
  const nonce = unb64(p.encrypted_payload.nonce);
  const tag = unb64(p.encrypted_payload.tag);
  if (nonce.length !== 12 || tag.length !== 16) throw new Error("lengths");
  const rawKey = new Uint8Array(
    await crypto.subtle.decrypt({ name: "RSA-OAEP" }, privateKey, unb64(p.encrypted_aes_key)),
  );
  if (rawKey.length !== 32) throw new Error("key length");
  const aes = await crypto.subtle.importKey("raw", rawKey, "AES-GCM", false, ["decrypt"]);
  const ct = unb64(p.encrypted_payload.ciphertext);
  const joined = new Uint8Array(ct.length + 16);
  joined.set(ct);
  joined.set(tag, ct.length);
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, aes, joined));
};

/** Opens a response package and parses its JSON plaintext. */
export const openJson = async (
  pkg: unknown,
  privateKey: CryptoKey,
): Promise<Record<string, unknown>> =>
  JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await openBytes(pkg, privateKey)));

/** The headers of a completion request, as PROTOCOL.md lists them. */
export const completionHeaders = (
  keys: PlainClientKeys,
  extra: Record<string, string> = {},
): Record<string, string> => ({
  "Content-Type": "application/octet-stream",
  "X-Payload-ID": crypto.randomUUID(),
  "X-Public-Key": encodeURIComponent(keys.pem),
  ...extra,
});

/** A completed HTTP exchange: status, headers and the body text (always consumed). */
export interface PlainResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** POSTs a body to the completion endpoint and reads the whole answer. */
export const postCompletion = async (
  url: string,
  body: BodyInit,
  headers: Record<string, string>,
): Promise<PlainResponse> => {
  const response = await fetch(`${url}/v1/chat/secure_completion`, {
    method: "POST",
    headers,
    body,
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
};

/** Seals `request` to the router, posts it and opens the answer. */
export const chat = async (
  url: string,
  routerKey: CryptoKey,
  keys: PlainClientKeys,
  request: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<{ response: PlainResponse; completion: Record<string, unknown>; payloadId: string }> => {
  const headers = completionHeaders(keys, extraHeaders);
  const pkg = await seal(request, routerKey);
  const response = await postCompletion(url, JSON.stringify(pkg), headers);
  if (response.status !== 200) throw new Error(`completion: ${response.status} ${response.text}`);
  const completion = await openJson(JSON.parse(response.text), keys.privateKey);
  return { response, completion, payloadId: headers["X-Payload-ID"]! };
};

/** Lowercase hex of SHA-256. */
export const sha256Hex = async (text: string): Promise<string> =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
