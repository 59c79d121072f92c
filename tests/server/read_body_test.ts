/** readBody(): the one capped reader of request bodies, node:http and WHATWG alike. */
import assert from "node:assert/strict";
import { readBody } from "../../src/server/read_body.ts";

/** An async iterable of `chunks` that records whether it was closed early. */
const source = (
  chunks: Uint8Array[],
  options: { stallAfter?: number; failAfter?: number } = {},
) => {
  const state = { returned: false };
  const iterable: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let i = 0;
      return {
        next: () => {
          if (i === options.stallAfter) return new Promise(() => {});
          if (i === options.failAfter) return Promise.reject(new Error("connection broke"));
          const value = chunks[i++];
          return Promise.resolve(
            value === undefined ? { done: true, value: undefined } : { done: false, value },
          );
        },
        return: () => {
          state.returned = true;
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
  return { iterable, state };
};

const bytes = (...values: number[]) => new Uint8Array(values);
const wiped = (chunks: Uint8Array[]) => chunks.every((c) => c.every((b) => b === 0));

Deno.test("readBody() returns a one-chunk body as read, without a copy", async () => {
  const only = bytes(1, 2, 3);
  const read = await readBody(source([only]).iterable, { maxBytes: 3 });
  assert.equal(read.kind, "body");
  assert.equal(read.kind === "body" && read.bytes, only);
});

Deno.test("readBody() joins chunks exactly and wipes them", async () => {
  const chunks = [bytes(1, 2), bytes(3), bytes(4, 5)];
  const read = await readBody(source(chunks).iterable, { maxBytes: 5 });
  assert.deepEqual(read.kind === "body" ? [...read.bytes] : read, [1, 2, 3, 4, 5]);
  assert.ok(wiped(chunks), "no copy of the prompt left in the chunks");
});

Deno.test("readBody() reads WHATWG streams and null bodies", async () => {
  const stream = new Response(new Blob([bytes(7), bytes(8)])).body;
  const read = await readBody(stream, { maxBytes: 10 });
  assert.deepEqual(read.kind === "body" ? [...read.bytes] : read, [7, 8]);
  const none = await readBody(null, { maxBytes: 10 });
  assert.deepEqual(none.kind === "body" ? [...none.bytes] : none, []);
});

Deno.test("readBody() stops past the cap, wipes every chunk and closes the source", async () => {
  const chunks = [bytes(1, 2), bytes(3, 4), bytes(5, 6), bytes(7)];
  const { iterable, state } = source(chunks);
  const read = await readBody(iterable, { maxBytes: 3 });
  assert.equal(read.kind, "too-large");
  assert.ok(wiped(chunks.slice(0, 2)), "the chunks read, the one over the cap included");
  assert.deepEqual([...chunks[2]!], [5, 6], "nothing past it was read");
  assert.equal(state.returned, true);
});

Deno.test("readBody() refuses a declared length over the cap before reading", async () => {
  const chunks = [bytes(1)];
  const read = await readBody(source(chunks).iterable, { maxBytes: 3, declaredLength: "4" });
  assert.equal(read.kind, "too-large");
  assert.deepEqual([...chunks[0]!], [1], "not read");
  const fine = await readBody(source([bytes(1)]).iterable, { maxBytes: 3, declaredLength: "1" });
  assert.equal(fine.kind, "body");
});

Deno.test("readBody() gives up when the deadline aborts, wiping what it read", async () => {
  const chunks = [bytes(9, 9)];
  const { iterable, state } = source(chunks, { stallAfter: 1 });
  const deadline = new AbortController();
  const reading = readBody(iterable, { maxBytes: 10, deadline: deadline.signal });
  await Promise.resolve();
  assert.ok(!wiped(chunks), "still reading");
  deadline.abort(); // the body is late: no real waiting
  const read = await reading;
  assert.equal(read.kind, "timeout");
  assert.ok(wiped(chunks));
  assert.equal(state.returned, true);
});

Deno.test("readBody() reports a broken source as failed, wiping what it read", async () => {
  const chunks = [bytes(9, 9)];
  const read = await readBody(source(chunks, { failAfter: 1 }).iterable, { maxBytes: 10 });
  assert.equal(read.kind, "failed");
  assert.ok(wiped(chunks));
});

Deno.test("readBody() reads a WHATWG stream through its reader, as Safari's (not async iterable)", async () => {
  const chunks = [new Uint8Array([1, 2]), new Uint8Array([3])];
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  // As in Safari: iterating the stream itself is not possible.
  Object.defineProperty(stream, Symbol.asyncIterator, {
    value: () => {
      throw new TypeError("not async iterable");
    },
  });
  const read = await readBody(stream, { maxBytes: 16 });
  assert.equal(read.kind, "body");
  assert.deepEqual(read.kind === "body" ? [...read.bytes] : [], [1, 2, 3]);

  const cancelled: unknown[] = [];
  const big = new ReadableStream<Uint8Array>({
    pull: (controller) => controller.enqueue(new Uint8Array(8).fill(7)),
    cancel: (reason) => void cancelled.push(reason ?? "cancelled"),
  });
  Object.defineProperty(big, Symbol.asyncIterator, { value: undefined });
  assert.equal((await readBody(big, { maxBytes: 16 })).kind, "too-large");
  assert.equal(cancelled.length, 1); // over the cap, the stream is cancelled
});
