/**
 * `SecureCompletionClient.generateKeys({ saveToFile: true })` keeps the private key in memory
 * non-extractable, as the keyDir path does: the key that opens answers is watched where it is
 * used, in WebCrypto's RSA-OAEP `decrypt` / `unwrapKey`.
 */
import assert from "node:assert/strict";
import { SecureCompletionClient } from "../../src/promise/secure_completion_client.ts";
import { startTestRouter } from "../../src/testing/router.ts";

/** Records the RSA private keys WebCrypto is asked to decrypt or unwrap with, during `fn`. */
const watchPrivateKeys = async (fn: () => Promise<void>): Promise<CryptoKey[]> => {
  const subtle = crypto.subtle;
  const seen: CryptoKey[] = [];
  const record = (key: CryptoKey) => {
    if (key.type === "private" && key.algorithm.name === "RSA-OAEP") seen.push(key);
  };
  const { decrypt, unwrapKey } = subtle;
  subtle.decrypt = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto["decrypt"]>) {
    record(args[1]);
    return decrypt.apply(this, args);
  } as SubtleCrypto["decrypt"];
  subtle.unwrapKey = function (
    this: SubtleCrypto,
    ...args: Parameters<SubtleCrypto["unwrapKey"]>
  ) {
    record(args[2]);
    return unwrapKey.apply(this, args);
  } as SubtleCrypto["unwrapKey"];
  try {
    await fn();
  } finally {
    subtle.decrypt = decrypt;
    subtle.unwrapKey = unwrapKey;
  }
  return seen;
};

for (const password of [undefined, "long enough pw"]) {
  Deno.test(`generateKeys({ saveToFile: true${password ? ", password" : ""} }) installs a non-extractable private key`, async () => {
    const dir = await Deno.makeTempDir();
    const router = await startTestRouter();
    const client = new SecureCompletionClient({
      baseUrl: router.url,
      allowHttp: true,
      keySize: 2048,
      keyRotationInterval: 0,
    });
    try {
      const saved = await client.generateKeys({
        keySize: 2048,
        saveToFile: true,
        keyDir: dir,
        ...(password === undefined ? {} : { password }),
      });
      assert.ok(saved !== undefined);
      const pem = await client.getPublicKeyPem();
      assert.equal(pem, await Deno.readTextFile(saved.publicKeyPath));
      const keys = await watchPrivateKeys(async () => {
        const answer = await client.sendSecureRequest(
          { model: "m", messages: [{ role: "user", content: "hi" }] },
          "pid-1",
        );
        assert.equal(answer.choices[0]?.message.content, "Echo: hi");
      });
      assert.ok(keys.length > 0, "no private key was used");
      for (const key of keys) assert.equal(key.extractable, false);
    } finally {
      await client.dispose();
      await router.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
