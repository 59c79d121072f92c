import assert from "node:assert/strict";
import {
  disableSecureMemory,
  enableSecureMemory,
  getMemoryProtectionInfo,
  withSecureBytes,
} from "../../src/crypto/secure_memory.ts";

Deno.test("getMemoryProtectionInfo() is honest about what JavaScript can do", () => {
  const info = getMemoryProtectionInfo();
  assert.equal(info.method, "zeroing");
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
