/**
 * # @nomyo/client
 *
 * An OpenAI-compatible chat completion client whose every prompt and answer is end-to-end
 * encrypted for NOMYO secure inference endpoints: AES-256-GCM payloads, RSA-OAEP-SHA256 key
 * exchange, 4096-bit client keys, a fresh AES key per message, key rotation, retries, security
 * tiers and TPM attestation of the router. WebCrypto only; runs in Deno, Node, Bun and
 * browsers.
 *
 * Two ways in:
 * - Promise users: {@linkcode SecureChatCompletion} (drop-in for `openai.chat.completions`)
 *   and the lower-level {@linkcode SecureCompletionClient}.
 * - Effect users: the {@linkcode SecureCompletion} service from {@linkcode nomyoLayer} /
 *   {@linkcode nomyoLayerConfig} (options from Effect's `Config`) /
 *   {@linkcode nomyoLayerFetch}, and every service below it.
 *
 * @example An encrypted chat completion (here against the bundled test router)
 * ```ts
 * import { SecureChatCompletion } from "@nomyo/client";
 * import { startTestRouter } from "@nomyo/client/testing";
 * const router = await startTestRouter(); // omit, and drop baseUrl/allowHttp, for api.nomyo.ai
 * await using client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true });
 * const answer = await client.create({
 *   model: "Qwen/Qwen3-0.6B",
 *   messages: [{ role: "user", content: "Hello!" }],
 * });
 * console.log(answer.choices[0]?.message.content, answer._metadata.payload_id);
 * await router.close();
 * ```
 *
 * @module
 */

// Promise API
export {
  type ChatCompletionCreateParams,
  type ChatCompletionCreateParamsBase,
  type ChatCompletionCreateParamsNonStreaming,
  type ChatCompletionCreateParamsStreaming,
  type ChatNamespace,
  type ClientRequestFields,
  type CreateFunction,
  SecureChatCompletion,
} from "./src/promise/secure_chat_completion.ts";
export { type ChunkOptions, completionToChunks } from "./src/openai/chunks.ts";
export type { OpenAIErrorBody } from "./src/openai/errors.ts";
export {
  type GenerateKeysOptions,
  SecureCompletionClient,
} from "./src/promise/secure_completion_client.ts";
export type { ClientOptions } from "./src/client/options.ts";
export {
  type ClientObservability,
  consoleLogger,
  forwardingLogger,
  type LogFn,
  type LogLevelName,
  makeClientObservability,
  type NomyoLogger,
  type ObservabilitySettings,
} from "./src/client/observability.ts";
export type { RequestOptions } from "./src/promise/runtime.ts";
export {
  disableSecureMemory,
  enableSecureMemory,
  getMemoryProtectionInfo,
  type MemoryProtectionInfo,
  SecureByteContext,
  withSecureBytes,
} from "./src/crypto/secure_memory.ts";

// Errors
export {
  AbortError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  type APIErrorArgs,
  type APIErrorTag,
  APIUserAbortError,
  AttestationError,
  type AttestationErrorReason,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  DECRYPTION_FAILED_MESSAGE,
  DisposedError,
  ForbiddenError,
  type HttpStatusError,
  InternalServerError,
  InvalidRequestError,
  KeyError,
  type KeyErrorReason,
  NomyoError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  SecurityError,
  type SecurityErrorReason,
  ServerError,
  ServiceUnavailableError,
  UnprocessableEntityError,
} from "./src/errors.ts";

// Wire types
export {
  type ChatCompletion,
  ChatCompletionBody,
  ChatCompletionChoice,
  type ChatCompletionChunk,
  type ChatCompletionChunkChoice,
  type ChatCompletionDelta,
  ChatCompletionMessage,
  ChatCompletionRequest,
  type ChatCompletionRequestParams,
  ChatMessage,
  ChatMessageParam,
  type ChoiceLogprobs,
  CompletionUsage,
  type DecryptedResponse,
  FINISH_REASONS,
  type FinishReason,
  type ResponseMetadata,
  type StreamOptions,
  TokenLogprob,
  Tool,
  ToolCall,
  type ToolCallDelta,
  ToolParam,
  type TpmAttestation,
} from "./src/protocol/chat.ts";
export {
  type DecodedPackage,
  decodePackage,
  encodePackage,
  EncryptedPayload,
  KEY_ALGORITHM,
  PACKAGE_ALGORITHM,
  parsePackage,
  PAYLOAD_ALGORITHM,
  PROTOCOL_VERSION,
  SealedPackage,
} from "./src/protocol/package.ts";
export {
  DEFAULT_BASE_URL,
  MAX_PLAINTEXT_BYTES,
  SECURITY_TIERS,
  type SecurityTier,
} from "./src/protocol/headers.ts";

// Effect services
export {
  type AttestationMode,
  type CompletionError,
  type CompletionOverrides,
  layerSecureCompletion,
  makeSecureCompletion,
  SecureCompletion,
  type SecureCompletionConfig,
  type SecureCompletionParts,
} from "./src/client/secure_completion.ts";
export {
  type NomyoConfigOptions,
  nomyoLayer,
  nomyoLayerConfig,
  nomyoLayerFetch,
  type NomyoServices,
} from "./src/client/layer.ts";
export {
  defaultKeyUnwrapping,
  HybridCipher,
  type HybridCipherOptions,
  type KeyUnwrapping,
  layerHybridCipher,
  makeHybridCipher,
} from "./src/crypto/hybrid_cipher.ts";
export {
  layerSecureBytes,
  makeSecureBytes,
  SecureBytes,
  type SecureMemorySwitch,
} from "./src/crypto/secure_bytes.ts";
export {
  type ClientKeyPair,
  KeyRing,
  type KeyRingOptions,
  layerKeyRing,
  makeKeyRing,
  rotationEvery,
} from "./src/keys/key_ring.ts";
export {
  layerRouterKeys,
  makeRouterKeys,
  type RouterKeyError,
  RouterKeys,
  type RouterKeysOptions,
} from "./src/transport/router_keys.ts";
export {
  makeRouterKeyTrust,
  type RouterKeyChange,
  type RouterKeyChangeHandler,
  type RouterKeyTrust,
  type RouterKeyTrustOptions,
} from "./src/transport/router_key_trust.ts";
export {
  type AttemptError,
  layerRouterTransport,
  makeRouterTransport,
  type RouterAnswer,
  RouterTransport,
  type SecureRequest,
  type TransportOptions,
} from "./src/transport/router_transport.ts";
export { type RetryOptions, retrySchedule } from "./src/transport/retry.ts";

// Keys
export type { RsaKeyPair, RsaKeySize, RsaPublicKey } from "./src/keys/rsa_key.ts";
export { fingerprintSpki } from "./src/keys/rsa_key_checks.ts";
export {
  exportPrivateKeyPem,
  importPrivateKeyPem,
  importPublicKeyPem,
  importPublicKeySpki,
} from "./src/keys/rsa_key_import_export.ts";
export { generateRsaKeyPair } from "./src/keys/rsa_key_generation.ts";
export {
  loadKeyPair,
  loadOrCreateKeyPair,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  type SavedKeyFiles,
  saveKeyPair,
} from "./src/keys/key_files.ts";

// Attestation
export * from "./src/attestation/mod.ts";
