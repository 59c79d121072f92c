/**
 * Prints `RESULT {json}` with the report of {@linkcode runCodecCases}; bundled by
 * `base64_codecs_test.ts` for Node and Bun.
 *
 * @module
 */
import { runCodecCases } from "./_base64_codec_cases.ts";

console.log(`RESULT ${JSON.stringify(runCodecCases())}`);
