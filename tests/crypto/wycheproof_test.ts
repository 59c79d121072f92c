/**
 * Wycheproof vectors (Apache-2.0, see tests/vectors/wycheproof/README.md) run through the
 * package open path: HybridCipher.open(), never raw WebCrypto. Policy, stated once:
 * - AES-GCM: the 256-bit key / 96-bit IV / 128-bit tag group. Valid vectors without AAD open to
 *   `msg`; vectors with AAD cannot open (the protocol has no AAD) and are refused like invalid
 *   ones, with the one crypto message.
 * - RSA-OAEP-4096/SHA-256: a valid vector whose message is 32 bytes (an AES-256 key) opens; a
 *   valid vector with any other message length is refused (the protocol only wraps 32-byte
 *   keys), as is every invalid one, with the one crypto message.
 * - RSA-OAEP-4096/SHA-256 with MGF1-SHA-1: every vector is refused.
 */
import assert from "node:assert/strict";
import { Effect, Exit, Layer } from "effect";
import {
  HybridCipher,
  type KeyUnwrapping,
  layerHybridCipher,
  makeHybridCipher,
} from "../../src/crypto/hybrid_cipher.ts";
import { layerSecureBytes, makeSecureBytes } from "../../src/crypto/secure_bytes.ts";
import { DECRYPTION_FAILED_MESSAGE, SecurityError } from "../../src/errors.ts";
import type { DecodedPackage } from "../../src/protocol/package.ts";
import {
  failureOf,
  hex,
  importTestPrivateKey,
  importTestPublicKey,
  runExit,
  vectorJson,
  vectorText,
} from "../_helpers.ts";

interface AeadTest {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: "valid" | "invalid" | "acceptable";
}
interface OaepTest {
  tcId: number;
  msg: string;
  ct: string;
  label: string;
  result: "valid" | "invalid" | "acceptable";
}
interface Suite<G> {
  testGroups: G[];
}

const cipherLayer = layerHybridCipher.pipe(Layer.provide(layerSecureBytes));
const cipherWith = (keyUnwrapping: KeyUnwrapping) =>
  Layer.succeed(HybridCipher, makeHybridCipher(makeSecureBytes(), { keyUnwrapping }));
const OAEP_256 = { name: "RSA-OAEP", hash: "SHA-256" } as const;

const open = (pkg: DecodedPackage, key: CryptoKey) =>
  Effect.flatMap(
    HybridCipher,
    (c) => Effect.scoped(Effect.map(c.open(pkg, key, "wp"), (b) => b.slice())),
  );

const expectRefused = async (
  pkg: DecodedPackage,
  key: CryptoKey,
  what: string,
  layer: Layer.Layer<HybridCipher> = cipherLayer,
) => {
  const error = failureOf(await runExit(open(pkg, key), layer));
  assert.ok(error instanceof SecurityError, what);
  assert.equal(error.reason, "DecryptionFailed", what);
  assert.equal(error.message, DECRYPTION_FAILED_MESSAGE, what);
};

const pkgOf = (
  wrappedKey: Uint8Array<ArrayBuffer>,
  nonce: Uint8Array<ArrayBuffer>,
  sealed: Uint8Array<ArrayBuffer>,
): DecodedPackage => ({
  wrappedKey,
  nonce,
  sealed,
  processedAt: undefined,
  algorithm: "hybrid-aes256-rsa4096",
});

const join = (a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

// A recipient key pair for the AES-GCM vectors: their AES keys are wrapped to it.
const serverPublic = await importTestPublicKey(await vectorText("protocol/server_public_key.pem"));
const serverPrivate = await importTestPrivateKey(
  await vectorText("protocol/server_private_key.pem"),
);

Deno.test("HybridCipher.open() on Wycheproof AES-256-GCM (96-bit IV, 128-bit tag)", async () => {
  const suite = await vectorJson<
    Suite<{ keySize: number; ivSize: number; tagSize: number; tests: AeadTest[] }>
  >("wycheproof/aes_gcm_test.json");
  const group = suite.testGroups.find((g) =>
    g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128
  )!;
  assert.equal(group.tests.length, 66);
  let opened = 0;
  let refused = 0;
  for (const t of group.tests) {
    const wrapped = new Uint8Array(
      await crypto.subtle.encrypt({ name: "RSA-OAEP" }, serverPublic, hex(t.key)),
    );
    const pkg = pkgOf(wrapped, hex(t.iv), join(hex(t.ct), hex(t.tag)));
    if (t.result === "valid" && t.aad === "") {
      const exit = await runExit(open(pkg, serverPrivate), cipherLayer);
      assert.ok(Exit.isSuccess(exit), `tcId ${t.tcId}`);
      assert.deepEqual(exit.value, hex(t.msg), `tcId ${t.tcId}`);
      opened++;
    } else {
      await expectRefused(pkg, serverPrivate, `tcId ${t.tcId}`);
      refused++;
    }
  }
  assert.equal(opened, 39 - group.tests.filter((t) => t.result === "valid" && t.aad !== "").length);
  assert.equal(opened + refused, 66);
});

/** Runs an OAEP suite: each ct is the wrapped key of a package sealed with the vector's msg. */
const runOaep = async (file: string, mayOpen: boolean, keyUnwrapping: KeyUnwrapping) => {
  const layer = cipherWith(keyUnwrapping);
  const suite = await vectorJson<Suite<{ privateKeyPkcs8: string; tests: OaepTest[] }>>(file);
  let opened = 0;
  let total = 0;
  for (const g of suite.testGroups) {
    const key = await crypto.subtle.importKey("pkcs8", hex(g.privateKeyPkcs8), OAEP_256, false, [
      "decrypt",
      "unwrapKey",
    ]);
    for (const t of g.tests) {
      total++;
      const msg = hex(t.msg);
      const nonce = crypto.getRandomValues(new Uint8Array(12));
      const plaintext = new TextEncoder().encode(`{"tcId":${t.tcId}}`);
      // Seal a payload with the vector's message as AES key, when it can be one.
      const sealed = msg.length === 16 || msg.length === 32
        ? new Uint8Array(
          await crypto.subtle.encrypt(
            { name: "AES-GCM", iv: nonce },
            await crypto.subtle.importKey("raw", msg, "AES-GCM", false, ["encrypt"]),
            plaintext,
          ),
        )
        : new Uint8Array(plaintext.length + 16);
      const pkg = pkgOf(hex(t.ct), nonce, sealed);
      if (mayOpen && t.result === "valid" && t.label === "" && msg.length === 32) {
        const exit = await runExit(open(pkg, key), layer);
        assert.ok(Exit.isSuccess(exit), `tcId ${t.tcId}`);
        assert.deepEqual(exit.value, plaintext, `tcId ${t.tcId}`);
        opened++;
      } else {
        await expectRefused(pkg, key, `tcId ${t.tcId} (${keyUnwrapping})`, layer);
      }
    }
  }
  return { opened, total };
};

Deno.test("HybridCipher.open() on Wycheproof RSA-OAEP-4096 SHA-256/MGF1-SHA-256, both key unwrappings", async () => {
  for (const mode of ["unwrapKey", "decrypt"] as const) {
    const { opened, total } = await runOaep(
      "wycheproof/rsa_oaep_4096_sha256_mgf1sha256_test.json",
      true,
      mode,
    );
    assert.equal(total, 37, mode);
    assert.ok(opened >= 1, `${mode}: the 32-byte-message vectors open`);
  }
});

Deno.test("HybridCipher.open() refuses every Wycheproof RSA-OAEP-4096 MGF1-SHA-1 vector", async () => {
  for (const mode of ["unwrapKey", "decrypt"] as const) {
    const { opened, total } = await runOaep(
      "wycheproof/rsa_oaep_4096_sha256_mgf1sha1_test.json",
      false,
      mode,
    );
    assert.equal(total, 32, mode);
    assert.equal(opened, 0, mode);
  }
});

Deno.test("HybridCipher.open() refuses every truncated GCM tag before WebCrypto sees it", async () => {
  const { decodePackage } = await import("../../src/protocol/package.ts");
  const { encodeBase64 } = await import("../../src/protocol/base64.ts");
  for (let len = 0; len < 16; len++) {
    const result = decodePackage({
      version: "1.0",
      algorithm: "hybrid-aes256-rsa4096",
      encrypted_payload: {
        ciphertext: encodeBase64(new Uint8Array(5)),
        nonce: encodeBase64(new Uint8Array(12)),
        tag: encodeBase64(new Uint8Array(len)),
      },
      encrypted_aes_key: encodeBase64(new Uint8Array(512)),
    });
    assert.ok(result._tag === "Left" && result.left.reason === "MalformedPackage", `tag ${len}`);
  }
});
