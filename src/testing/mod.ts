/**
 * Test support for `@nomyo/client`: a NOMYO-compatible router to run in-process (echo model,
 * fault injection, key rotation, TPM quotes made in software), and a recording `SecureBytes` that proves
 * buffers were zeroed. For tests and local development only.
 *
 * @example
 * ```ts
 * import { startTestRouter } from "@nomyo/client/testing";
 * import { SecureChatCompletion } from "@nomyo/client";
 * const router = await startTestRouter();
 * await using client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true });
 * const answer = await client.create({ model: "echo", messages: [{ role: "user", content: "hi" }] });
 * console.log(answer.choices[0]?.message.content); // "Echo: hi"
 * await router.close();
 * ```
 *
 * @module
 */
export {
  type CorsOrigins,
  type Fault,
  type RecordedRequest,
  startTestRouter,
  type Tamper,
  type TestRouter,
  testRouter,
  type TestRouterOptions,
} from "./router.ts";
export {
  type ClockParts,
  DEFAULT_PCR_VALUES,
  makeSoftwareQuote,
  type SoftwareAikScheme,
  type SoftwareQuote,
  type SoftwareQuoteOptions,
} from "./software_tpm.ts";
export { makeRecordingSecureBytes, type RecordingSecureBytes } from "./recording_secure_bytes.ts";
