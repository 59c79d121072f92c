import assert from "node:assert/strict";
import type { RsaPublicKey } from "../../src/keys/rsa_key.ts";
import { publicKeyHeader, quote } from "../../src/transport/public_key_header.ts";

const PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN+Bg/kq=\n-----END PUBLIC KEY-----\n";

/** A key whose PEM reads are counted. */
const countingKey = (pem: string): { key: RsaPublicKey; reads: () => number } => {
  let reads = 0;
  const key = {
    get pem() {
      reads++;
      return pem;
    },
  } as unknown as RsaPublicKey;
  return { key, reads: () => reads };
};

Deno.test("quote() encodes as Python's urllib.parse.quote: '/' kept, the rest of PEM encoded", () => {
  assert.equal(
    quote(PEM),
    "-----BEGIN%20PUBLIC%20KEY-----%0AMIIBIjAN%2BBg/kq%3D%0A-----END%20PUBLIC%20KEY-----%0A",
  );
  assert.equal(quote("A-Z_a.z~0 9!'()*"), "A-Z_a.z~0%209%21%27%28%29%2A");
  assert.equal(decodeURIComponent(quote(PEM)), PEM);
});

Deno.test("publicKeyHeader() computes a key's value once and reuses it", () => {
  const { key, reads } = countingKey(PEM);
  assert.equal(publicKeyHeader(key), quote(PEM));
  assert.equal(publicKeyHeader(key), quote(PEM));
  assert.equal(publicKeyHeader(key), quote(PEM));
  assert.equal(reads(), 1, "the PEM is encoded at the first request only");
});

Deno.test("publicKeyHeader() keeps each key's own value (a rotated key gets its new PEM)", () => {
  const other = "-----BEGIN PUBLIC KEY-----\nAAAA/BBBB\n-----END PUBLIC KEY-----\n";
  const first = countingKey(PEM);
  const second = countingKey(other);
  assert.equal(publicKeyHeader(first.key), quote(PEM));
  assert.equal(publicKeyHeader(second.key), quote(other));
  assert.equal(publicKeyHeader(first.key), quote(PEM));
});
