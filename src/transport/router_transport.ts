/**
 * One HTTP attempt against a NOMYO router, on `@effect/platform`'s `HttpClient`: the public key
 * endpoint and the secure completion endpoint. Transport errors are mapped here, once, to the
 * library's errors; nothing from the platform (whose request objects carry the headers, API
 * key included) is ever attached as a cause.
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient";
import type * as HttpClientError from "@effect/platform/HttpClientError";
import * as HttpClientRequest from "@effect/platform/HttpClientRequest";
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse";
import { Clock, Context, Duration, Effect, Layer, Redacted, Stream } from "effect";
import {
  APIConnectionError,
  type APIError,
  type HttpStatusError,
  SecurityError,
} from "../errors.ts";
import type { SecurityTier } from "../protocol/headers.ts";
import { parseErrorBody, parseRetryAfter, statusError } from "./status_errors.ts";

/** What one secure completion attempt sends. */
export interface SecureRequest {
  /** Normalized base URL (checked, no trailing slash). */
  readonly baseUrl: string;
  /** The package, UTF-8 JSON. */
  readonly body: Uint8Array<ArrayBuffer>;
  /** `X-Payload-ID`. */
  readonly payloadId: string;
  /** `X-Public-Key`: the client's SPKI PEM, percent-encoded. */
  readonly publicKeyHeader: string;
  /** Sent as `Authorization: Bearer …` when present. */
  readonly apiKey?: Redacted.Redacted<string> | undefined;
  /** Sent as `X-Security-Tier` when present. */
  readonly securityTier?: SecurityTier | undefined;
  /** Time allowed for this attempt, instead of the transport's default. */
  readonly timeout?: Duration.DurationInput | undefined;
}

/** Settings of the transport. */
export interface TransportOptions {
  /** Time allowed for one attempt, body included. */
  readonly timeout: Duration.DurationInput;
  /** Largest response body read; a larger one is refused without buffering it all. */
  readonly maxResponseBytes: number;
  /** `User-Agent` header value. */
  readonly userAgent: string;
}

/** Errors of one attempt. */
export type AttemptError = HttpStatusError | APIConnectionError | SecurityError;

/**
 * Talks to routers over HTTP, one attempt at a time (retries are the caller's).
 */
export interface RouterTransport {
  /** `GET {base}/pki/public_key`: the router's PEM text. */
  readonly fetchPublicKey: (
    baseUrl: string,
  ) => Effect.Effect<string, APIError | HttpStatusError | APIConnectionError | SecurityError>;
  /** `POST {base}/v1/chat/secure_completion`: the response body of a 2xx answer. */
  readonly send: (request: SecureRequest) => Effect.Effect<Uint8Array<ArrayBuffer>, AttemptError>;
}

/** Tag for {@linkcode RouterTransport}. */
export const RouterTransport: Context.Tag<RouterTransport, RouterTransport> = Context.GenericTag<
  RouterTransport
>("@nomyo/client/RouterTransport");

/** Error bodies are small; nothing larger is read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** A router key PEM is a few kilobytes. */
const MAX_KEY_BYTES = 64 * 1024;

const tooLarge = (payloadId: string | undefined, cap: number): SecurityError =>
  new SecurityError({
    reason: "ResponseTooLarge",
    message: `Cannot read response: body exceeds ${cap} bytes`,
    payloadId,
  });

/**
 * Reads a body up to `cap` bytes: a `Content-Length` over the cap is refused before reading,
 * and a stream that grows past it is cut off.
 */
const readCapped = (
  response: HttpClientResponse.HttpClientResponse,
  cap: number,
  payloadId: string | undefined,
): Effect.Effect<Uint8Array<ArrayBuffer>, SecurityError | HttpClientError.ResponseError> => {
  const declared = Number(response.headers["content-length"]);
  if (Number.isFinite(declared) && declared > cap) {
    return Effect.fail(tooLarge(payloadId, cap));
  }
  return Effect.suspend(() => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    return response.stream.pipe(
      Stream.runForEach((chunk) => {
        size += chunk.length;
        if (size > cap) return Effect.fail(tooLarge(payloadId, cap));
        chunks.push(chunk);
        return Effect.void;
      }),
      Effect.map(() => {
        if (chunks.length === 1) return chunks[0] as Uint8Array<ArrayBuffer>;
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
};

const connectionError = (payloadId: string | undefined) => (): APIConnectionError =>
  new APIConnectionError({
    message: "Cannot reach router: the connection failed or was cut off",
    payloadId,
  });

/**
 * Builds the transport on an `HttpClient`.
 *
 * @param client The HTTP client (fetch-based by default).
 * @param options Timeout, response cap and user agent.
 * @returns The transport.
 */
export const makeRouterTransport = (
  client: HttpClient.HttpClient,
  options: TransportOptions,
): RouterTransport => {
  // No trace headers, no spans: only the protocol's headers leave the machine.
  const http = client.pipe(
    HttpClient.withTracerPropagation(false),
    HttpClient.withTracerDisabledWhen(() => true),
  );
  const defaultTimeout = Duration.decode(options.timeout);
  const timedOut =
    (payloadId: string | undefined, timeout: Duration.Duration) => (): APIConnectionError =>
      new APIConnectionError({
        message: `Cannot complete request: no answer within ${Duration.format(timeout)}`,
        payloadId,
        timeout: true,
      });

  /** Runs one request: 2xx → capped body, else the mapped status error. */
  const exchange = (
    request: HttpClientRequest.HttpClientRequest,
    cap: number,
    payloadId: string | undefined,
    securityTier: string | undefined,
    timeout: Duration.Duration = defaultTimeout,
  ): Effect.Effect<Uint8Array<ArrayBuffer>, AttemptError> =>
    Effect.scoped(Effect.gen(function* () {
      const response = yield* http.execute(request);
      if (response.status >= 200 && response.status < 300) {
        return yield* readCapped(response, cap, payloadId);
      }
      const bytes = yield* readCapped(response, MAX_ERROR_BODY_BYTES, payloadId).pipe(
        Effect.orElseSucceed(() => new Uint8Array(0)),
      );
      const now = yield* Clock.currentTimeMillis;
      const retryAfter = parseRetryAfter(response.headers["retry-after"], now);
      return yield* Effect.fail(
        statusError(response.status, parseErrorBody(bytes), {
          payloadId,
          retryAfter,
          securityTier,
        }),
      );
    })).pipe(
      Effect.catchTags({
        RequestError: (_: HttpClientError.RequestError) =>
          Effect.fail(connectionError(payloadId)()),
        ResponseError: (_: HttpClientError.ResponseError) =>
          Effect.fail(connectionError(payloadId)()),
      }),
      Effect.timeoutFail({ duration: timeout, onTimeout: timedOut(payloadId, timeout) }),
    );

  const fetchPublicKey = (baseUrl: string) =>
    exchange(
      HttpClientRequest.get(`${baseUrl}/pki/public_key`).pipe(
        HttpClientRequest.setHeaders({ "User-Agent": options.userAgent }),
      ),
      MAX_KEY_BYTES,
      undefined,
      undefined,
    ).pipe(Effect.map((bytes) => new TextDecoder().decode(bytes)));

  const send = (request: SecureRequest): Effect.Effect<Uint8Array<ArrayBuffer>, AttemptError> => {
    const headers: Record<string, string> = {
      "Content-Type": "application/octet-stream",
      "X-Payload-ID": request.payloadId,
      "X-Public-Key": request.publicKeyHeader,
      "User-Agent": options.userAgent,
    };
    if (request.apiKey !== undefined) {
      headers["Authorization"] = `Bearer ${Redacted.value(request.apiKey)}`;
    }
    if (request.securityTier !== undefined) headers["X-Security-Tier"] = request.securityTier;
    return exchange(
      HttpClientRequest.post(`${request.baseUrl}/v1/chat/secure_completion`).pipe(
        HttpClientRequest.setHeaders(headers),
        HttpClientRequest.bodyUint8Array(request.body, "application/octet-stream"),
      ),
      options.maxResponseBytes,
      request.payloadId,
      request.securityTier,
      request.timeout === undefined ? defaultTimeout : Duration.decode(request.timeout),
    );
  };

  return { fetchPublicKey, send };
};

/**
 * Layer of the transport on the `HttpClient` in context.
 *
 * @param options Timeout, response cap and user agent.
 * @returns The layer.
 */
export const layerRouterTransport = (
  options: TransportOptions,
): Layer.Layer<RouterTransport, never, HttpClient.HttpClient> =>
  Layer.effect(
    RouterTransport,
    Effect.map(HttpClient.HttpClient, (client) => makeRouterTransport(client, options)),
  );
