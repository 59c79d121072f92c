/**
 * The cost of the OpenAI doors on a decrypted answer, per answer size: the JSON answer
 * (`JSON.stringify`, what `client.fetch` sends without `stream`) against the streaming shape
 * (`completionToChunks` and the SSE encoding of every chunk).
 *
 * ```sh
 * deno bench --allow-read --allow-env bench/openai_stream_bench.ts
 * ```
 *
 * @module
 */
import { Either } from "effect";
import { completionOfSize, SIZES } from "./_fixtures.ts";
import { completionToChunks } from "../src/openai/chunks.ts";
import { sseBody } from "../src/openai/sse.ts";
import { toChatCompletion } from "../src/protocol/response.ts";

const drain = async (stream: ReadableStream<Uint8Array>): Promise<number> => {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return bytes;
};

for (const size of SIZES) {
  const completion = Either.getOrThrow(
    toChatCompletion(completionOfSize(size.bytes), {
      processedAt: 1,
      algorithm: "hybrid-aes256-rsa4096",
    }, "bench"),
  );
  const group = `OpenAI answer ${size.label}`;
  Deno.bench({
    group,
    name: `JSON answer (${size.label})`,
    baseline: true,
    fn: () => {
      JSON.stringify(completion);
    },
  });
  Deno.bench({
    group,
    name: `chunks + SSE (${size.label})`,
    fn: async () => {
      await drain(sseBody(completionToChunks(completion, { includeUsage: true })));
    },
  });
}
