/**
 * The errors of `@nomyo/client`: one set of classes for both audiences.
 *
 * Every class extends `Data.Error` from `effect`, so a value is a real `Error` (Promise users
 * branch with `instanceof`) and carries a literal `_tag` (Effect users branch with
 * `Effect.catchTag`). No error ever holds a secret: not plaintext, not key bytes, not the API
 * key. Crypto failures all carry {@linkcode DECRYPTION_FAILED_MESSAGE}.
 *
 * @module
 */
import * as Data from "effect/Data";

/** The one message of every failure found by the cryptography (no decryption oracle). */
export const DECRYPTION_FAILED_MESSAGE = "Cannot open package: decryption failed";

/**
 * Root of every error this library raises.
 *
 * @example Catch everything from the library
 * ```ts
 * import { NomyoError } from "@nomyo/client";
 * const isOurs = (e: unknown): boolean => e instanceof NomyoError;
 * ```
 */
export class NomyoError<Tag extends string = "NomyoError"> extends Data.Error<{
  message: string;
  cause?: unknown;
}> {
  /** Discriminant for `Effect.catchTag`. */
  readonly _tag: Tag = "NomyoError" as Tag;
  /** The request's `X-Payload-ID`, when the error belongs to a request. */
  readonly payloadId: string | undefined;
  /**
   * Makes the error.
   *
   * @param args The message, an optional cause (never a secret) and the payload id.
   */
  constructor(args: { message: string; cause?: unknown; payloadId?: string | undefined }) {
    super(args.cause === undefined ? { message: args.message } : args);
    this.payloadId = args.payloadId;
  }
}
// `name` follows `_tag`, so stacks and `String(e)` name the leaf class.
Object.defineProperty(NomyoError.prototype, "name", {
  get(this: { _tag: string }): string {
    return this._tag;
  },
  configurable: true,
});

/** Why a {@linkcode SecurityError} was raised. */
export type SecurityErrorReason =
  /** `http://` base URL without `allowHttp`. */
  | "InsecureTransport"
  /** CR, LF or NUL in a header value. */
  | "HeaderInjection"
  /** `security_tier` not one of `standard`, `high`, `maximum`. */
  | "InvalidSecurityTier"
  /** Request plaintext over 10 MiB. */
  | "PayloadTooLarge"
  /** Response body over the configured cap. */
  | "ResponseTooLarge"
  /** The package is not well formed (JSON, fields, base64, lengths, version). */
  | "MalformedPackage"
  /** The cryptography refused the package (unwrap or tag); always one message. */
  | "DecryptionFailed"
  /**
   * The opened plaintext is not a UTF-8 JSON object (nested at most 64 deep), or, for a typed
   * chat completion, its fields do not have a chat completion's types. Never for a value
   * OpenAI's lists leave out (another server's `finish_reason` or `object`).
   */
  | "MalformedPlaintext"
  /** A router (or peer) public key is not acceptable: not RSA, too small, bad exponent. */
  | "KeyRejected"
  /** The router key does not match the pinned fingerprint. */
  | "FingerprintMismatch"
  /**
   * Under `routerKeyPolicy: "tofu"`: the router's key is not the one recorded for its origin,
   * and no `onRouterKeyChange` accepted it. Nothing was encrypted to it.
   */
  | "RouterKeyChanged"
  /** The randomness or cipher failed while sealing. */
  | "EncryptionFailed"
  /** The router answered a redirect (3xx), or a `fetch` followed one: the protocol has none. */
  | "RedirectRefused";

/**
 * A refusal for security reasons: insecure transport, header injection, a malformed or
 * tampered package, a rejected key. Never retried.
 *
 * @example Branch on the reason
 * ```ts
 * import { SecurityError } from "@nomyo/client";
 * const tampered = (e: unknown): boolean =>
 *   e instanceof SecurityError && e.reason === "DecryptionFailed";
 * ```
 */
export class SecurityError extends NomyoError<"SecurityError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "SecurityError" as const;
  /** What was refused. */
  readonly reason: SecurityErrorReason;
  /**
   * Makes the error.
   *
   * @param args The reason, the message, an optional non-secret cause and payload id.
   */
  constructor(
    args: {
      reason: SecurityErrorReason;
      message: string;
      cause?: unknown;
      payloadId?: string | undefined;
    },
  ) {
    super(args);
    this.reason = args.reason;
  }
}

/** Why a {@linkcode KeyError} was raised. */
export type KeyErrorReason =
  /** Not RSA. */
  | "NotRsa"
  /** Under 2048 bits, a size other than 2048/4096 when generating, or a weak exponent. */
  | "WeakKey"
  /** Not PEM, not DER, or not the structure expected. */
  | "Malformed"
  /** Wrong password or corrupted encrypted file: deliberately the same reason. */
  | "DecryptionFailed"
  /** An encrypted key file but no password was given. */
  | "PasswordRequired"
  /** A password under 8 characters. */
  | "PasswordTooShort"
  /** A key encryption this library cannot (or will not) run: a cipher WebCrypto lacks, absurd PBKDF2 counts. */
  | "UnsupportedEncryption"
  /** The private key file can be read by group or others. */
  | "InsecurePermissions"
  /** The public key file does not belong to the private key. */
  | "Mismatch"
  /** Export of a private key created non-extractable (make it with `extractable: true`). */
  | "NotExtractable"
  /** A file could not be read or written. */
  | "Io"
  /**
   * The runtime cannot do it: there is no file system (browsers: `keyDir`, `loadKeys` and the
   * key file functions), or WebCrypto failed to generate or export a key.
   */
  | "Unavailable";

/**
 * A problem with the client's own key material or key files.
 *
 * @example
 * ```ts
 * import { KeyError } from "@nomyo/client";
 * const wrongPassword = (e: unknown): boolean =>
 *   e instanceof KeyError && e.reason === "DecryptionFailed";
 * ```
 */
export class KeyError extends NomyoError<"KeyError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "KeyError" as const;
  /** What is wrong with the key. */
  readonly reason: KeyErrorReason;
  /**
   * Makes the error.
   *
   * @param args The reason, the message and an optional non-secret cause.
   */
  constructor(args: { reason: KeyErrorReason; message: string; cause?: unknown }) {
    super(args);
    this.reason = args.reason;
  }
}

/** Tags of the HTTP error classes, all of which are {@linkcode APIError}s. */
export type APIErrorTag =
  | "APIError"
  | "InvalidRequestError"
  | "AuthenticationError"
  | "ForbiddenError"
  | "NotFoundError"
  | "ConflictError"
  | "UnprocessableEntityError"
  | "RateLimitError"
  | "ServerError"
  | "ServiceUnavailableError";

/** Arguments of every {@linkcode APIError}. */
export interface APIErrorArgs {
  /** Human-readable message (the router's `detail` when it sent one). */
  readonly message: string;
  /** HTTP status. */
  readonly status: number;
  /** The parsed error body (JSON when it was JSON, else the text), never a secret. */
  readonly body?: unknown;
  /** The request's payload id. */
  readonly payloadId?: string | undefined;
  /** Seconds the router asked to wait (`Retry-After`), when it did. */
  readonly retryAfter?: number | undefined;
  /** The router's response headers (names lowercased; cookies and long values left out). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** The router's request id (`x-request-id`), when it sent one. */
  readonly requestID?: string | undefined;
}

/**
 * The router answered with an error status. Subclasses name the statuses of the protocol;
 * `APIError` itself covers 502, 504 and any other status.
 *
 * @example
 * ```ts
 * import { APIError } from "@nomyo/client";
 * const status = (e: unknown): number | undefined => e instanceof APIError ? e.status : undefined;
 * ```
 */
export class APIError<Tag extends APIErrorTag = "APIError"> extends NomyoError<Tag> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag: Tag = "APIError" as Tag;
  /** HTTP status. */
  readonly status: number;
  /** The parsed error body (JSON when it was JSON, else the text). */
  readonly body: unknown;
  /** Seconds the router asked to wait (`Retry-After`), when it did. */
  readonly retryAfter: number | undefined;
  /**
   * The router's response headers, names lowercased, as openai-node's `APIError.headers`:
   * what the router sent, minus `set-cookie` and values over 1024 characters.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The router's request id (`x-request-id` header), when it sent one. */
  readonly requestID: string | undefined;
  /**
   * Makes the error.
   *
   * @param args Message, status, parsed body, payload id, `Retry-After` seconds, headers and
   * request id.
   */
  constructor(args: APIErrorArgs) {
    super({ message: args.message, payloadId: args.payloadId });
    this.status = args.status;
    this.body = args.body;
    this.retryAfter = args.retryAfter;
    this.headers = args.headers ?? {};
    this.requestID = args.requestID;
  }
  /** nomyo-js's name for {@linkcode APIError.status}: the HTTP status. */
  get statusCode(): number {
    return this.status;
  }
  /**
   * nomyo-js's name for the router's error body: the parsed body when it was a JSON object
   * (scrubbed of the request's API key, as `body` and the message are), else `undefined`.
   */
  get errorDetails(): Readonly<Record<string, unknown>> | undefined {
    const body = this.body;
    return typeof body === "object" && body !== null && !Array.isArray(body)
      ? body as Readonly<Record<string, unknown>>
      : undefined;
  }
}

/** 400: the router refused the request. Also exported as {@linkcode BadRequestError}. */
export class InvalidRequestError extends APIError<"InvalidRequestError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "InvalidRequestError" as const;
}
/**
 * openai-node's name for {@linkcode InvalidRequestError}: the same class, so `instanceof` works
 * with either name.
 *
 * @example
 * ```ts
 * import { BadRequestError, InvalidRequestError } from "@nomyo/client";
 * console.assert(BadRequestError === InvalidRequestError);
 * ```
 */
export const BadRequestError: typeof InvalidRequestError = InvalidRequestError;
/** openai-node's name for {@linkcode InvalidRequestError} (the same class). */
export type BadRequestError = InvalidRequestError;
/** 401: missing or wrong API key. */
export class AuthenticationError extends APIError<"AuthenticationError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "AuthenticationError" as const;
}
/**
 * 403: e.g. the model is not allowed for the requested security tier. Also exported as
 * {@linkcode PermissionDeniedError}.
 */
export class ForbiddenError extends APIError<"ForbiddenError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "ForbiddenError" as const;
}
/** openai-node's name for {@linkcode ForbiddenError}: the same class. */
export const PermissionDeniedError: typeof ForbiddenError = ForbiddenError;
/** openai-node's name for {@linkcode ForbiddenError} (the same class). */
export type PermissionDeniedError = ForbiddenError;
/** 404: secure inference is not enabled on this router (or the URL is wrong). Not retried. */
export class NotFoundError extends APIError<"NotFoundError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "NotFoundError" as const;
}
/** 409 (openai-node's `ConflictError`): the request conflicts with the router's state. Not retried. */
export class ConflictError extends APIError<"ConflictError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "ConflictError" as const;
}
/**
 * 422 (openai-node's `UnprocessableEntityError`): the router understood the request but cannot
 * process it. Not retried.
 */
export class UnprocessableEntityError extends APIError<"UnprocessableEntityError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "UnprocessableEntityError" as const;
}
/** 429: too many requests; retried by default, honouring `Retry-After`. */
export class RateLimitError extends APIError<"RateLimitError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "RateLimitError" as const;
}
/** 500: the router failed; retried by default. Also exported as {@linkcode InternalServerError}. */
export class ServerError extends APIError<"ServerError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "ServerError" as const;
}
/** openai-node's name for {@linkcode ServerError}: the same class. */
export const InternalServerError: typeof ServerError = ServerError;
/** openai-node's name for {@linkcode ServerError} (the same class). */
export type InternalServerError = ServerError;
/**
 * 503: the backend is down, or the `maximum` tier was asked of a router without a TPM;
 * retried by default.
 */
export class ServiceUnavailableError extends APIError<"ServiceUnavailableError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "ServiceUnavailableError" as const;
}

/**
 * The router could not be reached, the connection broke, or an attempt timed out. Retried by
 * default, except when `retryable` is `false`: a browser refused the request (mixed content, or
 * a `fetch` `TypeError` in a page, which is how CORS refusals look), and another attempt would
 * fail the same way.
 */
export class APIConnectionError extends NomyoError<"APIConnectionError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "APIConnectionError" as const;
  /** True when the attempt ran out of time (the error is then an {@linkcode APIConnectionTimeoutError}). */
  readonly timeout: boolean;
  /** False when another attempt cannot succeed (a browser refused the request); never retried then. */
  readonly retryable: boolean;
  /**
   * Makes the error.
   *
   * @param args Message, payload id, whether it was a timeout, whether it may be retried, and a
   * non-secret cause.
   */
  constructor(
    args: {
      message: string;
      payloadId?: string | undefined;
      timeout?: boolean;
      retryable?: boolean;
      cause?: unknown;
    },
  ) {
    super(args);
    this.timeout = args.timeout ?? false;
    this.retryable = args.retryable ?? true;
  }
}

/**
 * An attempt ran out of time (openai-node's name). It is an {@linkcode APIConnectionError} and
 * keeps its `_tag`, `"APIConnectionError"`, so `Effect.catchTag("APIConnectionError")` still
 * catches timeouts; tell them apart with `instanceof APIConnectionTimeoutError` or `timeout`.
 *
 * @example
 * ```ts
 * import { APIConnectionError, APIConnectionTimeoutError } from "@nomyo/client";
 * const e = new APIConnectionTimeoutError({ message: "Cannot complete request: no answer" });
 * console.assert(e instanceof APIConnectionError && e.timeout && e._tag === "APIConnectionError");
 * ```
 */
export class APIConnectionTimeoutError extends APIConnectionError {
  /**
   * Makes the error.
   *
   * @param args Message and payload id.
   */
  constructor(args: { message: string; payloadId?: string | undefined }) {
    super({ ...args, timeout: true });
  }
}
// The tag stays "APIConnectionError" (see above); the name says what it is.
Object.defineProperty(APIConnectionTimeoutError.prototype, "name", {
  value: "APIConnectionTimeoutError",
  configurable: true,
});

/** A call on a client that was disposed, or a request cut off by `dispose()`. */
export class DisposedError extends NomyoError<"DisposedError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "DisposedError" as const;
  /**
   * Makes the error.
   *
   * @param args An optional message and payload id.
   */
  constructor(args: { message?: string; payloadId?: string | undefined } = {}) {
    super({
      message: args.message ?? "Cannot use client: it was disposed",
      payloadId: args.payloadId,
    });
  }
}

/** The caller aborted the request (an `AbortSignal` fired). Also exported as {@linkcode APIUserAbortError}. */
export class AbortError extends NomyoError<"AbortError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "AbortError" as const;
  /**
   * Makes the error.
   *
   * @param args An optional payload id.
   */
  constructor(args: { payloadId?: string | undefined } = {}) {
    super({ message: "Request was aborted", payloadId: args.payloadId });
  }
}
/** openai-node's name for {@linkcode AbortError}: the same class. */
export const APIUserAbortError: typeof AbortError = AbortError;
/** openai-node's name for {@linkcode AbortError} (the same class). */
export type APIUserAbortError = AbortError;

/** Which attestation rule failed. */
export type AttestationErrorReason =
  /** No `tpm_attestation` block, but one was required. */
  | "Missing"
  /** A `*_b64` field is not strict base64, or a field has the wrong type. */
  | "BadBase64"
  /** A TPM structure is truncated, oversized, has trailing bytes or unknown algorithms. */
  | "Malformed"
  /** `magic` is not `0xff544347`. */
  | "BadMagic"
  /** `type` is not `0x8018` (quote). */
  | "BadType"
  /** `extraData` does not bind the quote to this request's payload id. */
  | "NonceMismatch"
  /** The PCR digest or selection does not match `pcr_values`. */
  | "PcrMismatch"
  /** The signature does not verify with the AIK. */
  | "BadSignature"
  /** The PCR values differ from the caller's baseline. */
  | "BaselineMismatch"
  /** The quote's `TPMS_CLOCK_INFO.safe` is 0: the TPM clock may have gone backwards. */
  | "UnsafeClock";

/**
 * A step of attestation verification, in the order the steps run: reading the evidence
 * document (offline verification only), parsing the block, the nonce binding to the payload
 * id, the PCR digest, importing the AIK, the signature, each baseline PCR, the clock.
 */
export type AttestationStepName =
  | "evidence"
  | "parse"
  | "nonce"
  | "pcr_digest"
  | "aik"
  | "signature"
  | "pcr_baseline"
  | "clock";

/**
 * A TPM attestation block failed verification; `reason` names the rule.
 *
 * @example
 * ```ts
 * import { AttestationError } from "@nomyo/client";
 * const replayed = (e: unknown): boolean =>
 *   e instanceof AttestationError && e.reason === "NonceMismatch";
 * ```
 */
export class AttestationError extends NomyoError<"AttestationError"> {
  /** Discriminant for `Effect.catchTag`. */
  override readonly _tag = "AttestationError" as const;
  /** The rule that failed. */
  readonly reason: AttestationErrorReason;
  /** The verification step that failed, when verification got that far. */
  readonly step: AttestationStepName | undefined;
  /**
   * Makes the error.
   *
   * @param args The rule, a message, the payload id and the step that failed.
   */
  constructor(
    args: {
      reason: AttestationErrorReason;
      message: string;
      payloadId?: string | undefined;
      step?: AttestationStepName | undefined;
    },
  ) {
    super(args);
    this.reason = args.reason;
    this.step = args.step;
  }
}

/** Every HTTP error class, for a `Effect` error channel. */
export type HttpStatusError =
  | APIError
  | InvalidRequestError
  | AuthenticationError
  | ForbiddenError
  | NotFoundError
  | ConflictError
  | UnprocessableEntityError
  | RateLimitError
  | ServerError
  | ServiceUnavailableError;
