/**
 * The body reader on the hot path: `readCapped` (owned blocks) against the reader it replaced
 * (which kept every chunk and joined them), for the client's normal answers (1 KiB to 1 MiB),
 * in one chunk, in 64 KiB chunks with a `Content-Length`, and in 64 KiB chunks without one.
 *
 *   npx --yes deno@2 bench bench/read_capped_bench.ts
 *
 * @module
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest";
import * as HttpClientResponse from "@effect/platform/HttpClientResponse";
import { Effect, Stream } from "effect";
import { readCapped } from "../src/transport/read_capped.ts";

const CAP = 64 * 1024 * 1024;
const request = HttpClientRequest.get("https://router.test/x");

/** The reader before this change: every chunk kept, joined at the end. */
const previous = (response: HttpClientResponse.HttpClientResponse, cap: number) =>
  Effect.suspend(() => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    return response.stream.pipe(
      Stream.runForEach((chunk) => {
        size += chunk.length;
        if (size > cap) return Effect.fail("too large");
        chunks.push(chunk);
        return Effect.void;
      }),
      Effect.map(() => {
        if (chunks.length === 1) return chunks[0]!;
        const out = new Uint8Array(size);
        let offset = 0;
        for (const chunk of chunks) {
          out.set(chunk, offset);
          offset += chunk.length;
        }
        return out;
      }),
    );
  });

const responseOf = (body: Uint8Array, chunk: number, withLength: boolean) => {
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (offset >= body.length) return c.close();
      c.enqueue(body.subarray(offset, offset + chunk));
      offset += chunk;
    },
  });
  const headers: Record<string, string> = withLength ? { "content-length": `${body.length}` } : {};
  return HttpClientResponse.fromWeb(request, new Response(stream, { headers }));
};

for (const [label, size] of [["1 KiB", 1024], ["64 KiB", 65536], ["1 MiB", 1 << 20]] as const) {
  const body = new Uint8Array(size).fill(7);
  for (
    const [shape, chunk, withLength] of [
      ["one chunk", size, true],
      ["64 KiB chunks, Content-Length", 65536, true],
      ["64 KiB chunks, chunked", 65536, false],
    ] as const
  ) {
    if (chunk >= size && shape !== "one chunk") continue;
    const group = `${label}, ${shape}`;
    Deno.bench({ name: "previous reader", group, baseline: true }, async () => {
      await Effect.runPromise(previous(responseOf(body, chunk, withLength), CAP));
    });
    Deno.bench({ name: "readCapped", group }, async () => {
      await Effect.runPromise(
        readCapped(responseOf(body, chunk, withLength), CAP, () => "too large"),
      );
    });
  }
}
