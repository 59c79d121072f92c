import assert from "node:assert/strict";
import {
  disableSecureMemory,
  enableSecureMemory,
  getMemoryProtectionInfo,
  SecureByteContext,
  withSecureBytes,
} from "../../src/crypto/secure_memory.ts";

Deno.test("getMemoryProtectionInfo() is honest about what JavaScript can do", () => {
  const info = getMemoryProtectionInfo();
  assert.equal(info.method, "zero-only"); // nomyo-js's value
  assert.equal(info.canLock, false);
  assert.equal(info.isPlatformSecure, false);
  assert.match(info.details, /cannot lock/);
});

Deno.test("withSecureBytes() zeroes the buffer after use, also when use throws", async () => {
  const secret = new TextEncoder().encode("patient record 42");
  const length = await withSecureBytes(secret, (b) => {
    assert.equal(new TextDecoder().decode(b), "patient record 42");
    return b.length;
  });
  assert.equal(length, 17);
  assert.ok(secret.every((x) => x === 0));

  const other = new Uint8Array([9, 9, 9]);
  const boom = new RangeError("boom");
  await assert.rejects(
    withSecureBytes(other, async () => {
      await Promise.resolve();
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.deepEqual(other, new Uint8Array(3));
});

Deno.test("disableSecureMemory() stops zeroing; enableSecureMemory() restores it", async () => {
  disableSecureMemory();
  try {
    assert.equal(getMemoryProtectionInfo().method, "none");
    const kept = new Uint8Array([1, 2, 3]);
    await withSecureBytes(kept, () => undefined);
    assert.deepEqual(kept, new Uint8Array([1, 2, 3]));
  } finally {
    enableSecureMemory();
  }
  const wiped = new Uint8Array([1, 2, 3]);
  await withSecureBytes(wiped, () => undefined);
  assert.deepEqual(wiped, new Uint8Array(3));
});

Deno.test("SecureByteContext.use() lends the buffer and zeroes it in finally, as nomyo-js's does", async () => {
  const secret = new TextEncoder().encode("patient record 42");
  const context = new SecureByteContext(secret.buffer);
  const text = await context.use((data) => new TextDecoder().decode(data));
  assert.equal(text, "patient record 42");
  assert.ok(secret.every((x) => x === 0));
  await assert.rejects(context.use(() => 1), TypeError); // used once

  const thrown = new Uint8Array([7, 7, 7]);
  const boom = new RangeError("boom");
  await assert.rejects(
    new SecureByteContext(thrown).use(async () => {
      await Promise.resolve();
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.deepEqual(thrown, new Uint8Array(3));

  const kept = new Uint8Array([1, 2, 3]);
  assert.equal(await new SecureByteContext(kept, false).use((d) => d.byteLength), 3);
  assert.deepEqual(kept, new Uint8Array([1, 2, 3]));
});

Deno.test("SecureByteContext refuses what it could not zero whole", () => {
  const part = new Uint8Array(new ArrayBuffer(8), 2, 4);
  assert.throws(() => new SecureByteContext(part), TypeError);
  assert.throws(() => new SecureByteContext("secret" as unknown as ArrayBuffer), TypeError);
  assert.throws(() => new SecureByteContext(new DataView(new ArrayBuffer(2)) as never), TypeError);
});
