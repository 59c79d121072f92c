/**
 * readCapped: exact bytes whatever the chunking, no platform chunk kept in the result, the
 * declared length used only when it is the length read, and the cap held with any encoding.
 * (Peak memory is measured in bench/edge_memory.ts, not asserted here.)
 */
import assert from "node:assert/strict";
import * as HttpClientRequest from "@effect/platform/HttpClientRequest";
import * as HttpClientResponse from "@effect/platform/HttpClientResponse";
import { Effect, Exit } from "effect";
import { readCapped } from "../../src/transport/read_capped.ts";
import { prng, randomBytes } from "../_helpers.ts";

const request = HttpClientRequest.get("https://router.test/x");

/** A response whose body is `chunks`, each a view into its own 64 KiB buffer (as Deno's are). */
const responseOf = (chunks: Uint8Array[], headers: Record<string, string> = {}) => {
  const pinned = chunks.map((c) => {
    const view = new Uint8Array(new ArrayBuffer(Math.max(64 * 1024, c.length)), 0, c.length);
    view.set(c);
    return view;
  });
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < pinned.length) controller.enqueue(pinned[i++]!);
      else controller.close();
    },
  });
  return {
    pinned,
    response: HttpClientResponse.fromWeb(request, new Response(body, { headers })),
  };
};

const read = (r: HttpClientResponse.HttpClientResponse, cap: number) =>
  Effect.runPromiseExit(readCapped(r, cap, () => "too large" as const));

const joined = (chunks: Uint8Array[]) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
};

Deno.test("readCapped() joins any chunking exactly and keeps no platform buffer", async () => {
  const next = prng(11);
  for (const sizes of [[1, 1, 1], Array(5000).fill(1), [70_000, 3, 200_000], [0, 5, 0, 7]]) {
    const chunks = sizes.map((n) => randomBytes(next, n));
    const { pinned, response } = responseOf(chunks);
    const exit = await read(response, 1024 * 1024);
    assert.ok(Exit.isSuccess(exit));
    assert.deepEqual(exit.value, joined(chunks));
    const buffers = new Set(pinned.map((p) => p.buffer));
    assert.ok(!buffers.has(exit.value.buffer), "the result is an owned buffer");
    assert.ok(exit.value.buffer.byteLength <= Math.max(16 * 1024, 2 * exit.value.length));
  }
});

Deno.test("readCapped() returns a single chunk as is (no copy)", async () => {
  const { pinned, response } = responseOf([new Uint8Array([1, 2, 3])]);
  const exit = await read(response, 1024);
  assert.ok(Exit.isSuccess(exit));
  assert.equal(exit.value, pinned[0]);
});

Deno.test("readCapped() reads a declared length into one exact buffer", async () => {
  const chunks = [new Uint8Array(1000).fill(1), new Uint8Array(24).fill(2)];
  const { response } = responseOf(chunks, { "content-length": "1024" });
  const exit = await read(response, 4096);
  assert.ok(Exit.isSuccess(exit));
  assert.equal(exit.value.buffer.byteLength, 1024);
  assert.deepEqual(exit.value, joined(chunks));
});

Deno.test("readCapped() ignores a declared length that is not the length read", async () => {
  const chunks = Array.from({ length: 40 }, (_, i) => new Uint8Array(1000).fill(i));
  for (
    const headers of [
      { "content-length": "10", "content-encoding": "gzip" },
      { "content-length": "10" },
      { "content-length": "-5" },
      { "content-length": "1e3" },
      { "content-length": "10, 10" },
    ]
  ) {
    const { response } = responseOf(chunks, headers);
    const exit = await read(response, 1024 * 1024);
    assert.ok(Exit.isSuccess(exit), JSON.stringify(headers));
    assert.deepEqual(exit.value, joined(chunks));
  }
});

Deno.test("readCapped() cuts off at the cap whatever the encoding, refuses a declared length over it", async () => {
  const chunks = Array.from({ length: 100 }, () => new Uint8Array(1000));
  for (const headers of [{}, { "content-encoding": "gzip", "content-length": "100" }]) {
    const { response } = responseOf(chunks, headers);
    const exit = await read(response, 50_000);
    assert.ok(Exit.isFailure(exit));
    assert.deepEqual(exit.cause._tag === "Fail" && exit.cause.error, "too large");
  }
  const exactly = await read(responseOf(chunks).response, 100_000);
  assert.ok(Exit.isSuccess(exactly), "a body of exactly the cap is read");
  let pulled = 0;
  const declared = HttpClientResponse.fromWeb(
    request,
    new Response(
      new ReadableStream({
        pull(c) {
          pulled++;
          c.enqueue(new Uint8Array(10));
        },
      }),
      { headers: { "content-length": "999999" } },
    ),
  );
  assert.ok(Exit.isFailure(await read(declared, 1000)));
  assert.ok(pulled <= 1);
});
