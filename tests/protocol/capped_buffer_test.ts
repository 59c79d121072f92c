/** makeCappedBuffer(): the one accumulator behind both capped readers. */
import assert from "node:assert/strict";
import { makeCappedBuffer } from "../../src/protocol/capped_buffer.ts";

Deno.test("makeCappedBuffer() keeps a single chunk as is and refuses what passes the cap", () => {
  const buffer = makeCappedBuffer(4);
  const only = new Uint8Array([1, 2, 3]);
  assert.equal(buffer.push(only), true);
  assert.equal(buffer.push(new Uint8Array(2)), false, "3 + 2 > 4: refused, nothing added");
  assert.equal(buffer.result(), only);
});

Deno.test("makeCappedBuffer({ wipeChunks }) zeroes each chunk once copied, and its blocks once joined", () => {
  const buffer = makeCappedBuffer(64 * 1024, { wipeChunks: true });
  const chunks = Array.from({ length: 3000 }, (_, i) => new Uint8Array(10).fill(i % 250 + 1));
  for (const c of chunks) assert.equal(buffer.push(c), true);
  const out = buffer.result();
  assert.equal(out.length, 30_000);
  assert.equal(out[0], 1);
  assert.equal(out[29_999], (2999 % 250) + 1);
  assert.ok(chunks.every((c) => c.every((b) => b === 0)), "no chunk keeps the prompt");
});

Deno.test("makeCappedBuffer() without wipeChunks leaves the chunks alone; wipe() zeroes what it holds", () => {
  const buffer = makeCappedBuffer(100);
  const a = new Uint8Array([7, 7]);
  const b = new Uint8Array([8]);
  buffer.push(a);
  buffer.push(b);
  assert.deepEqual([...a, ...b], [7, 7, 8]);
  const kept = makeCappedBuffer(100);
  const first = new Uint8Array([5, 5]);
  kept.push(first);
  kept.wipe();
  assert.deepEqual([...first], [0, 0]);
});
