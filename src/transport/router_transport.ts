/**
 * One HTTP attempt against a NOMYO router, on `@effect/platform`'s `HttpClient`: the public key
 * endpoint and the secure completion endpoint. Transport errors are mapped here, once, to the
 * library's errors; nothing from the platform (whose request objects carry the headers, API
 * key included) is ever attached as a cause.
 *
 * @module
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import * as HttpClient from "@effect/platform/HttpClient";
import type * as HttpClientError from "@effect/platform/HttpClientError";
import * as HttpClientRequest from "@effect/platform/HttpClientRequest";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Redacted from "effect/Redacted";
import {
  type APIConnectionError,
  APIConnectionTimeoutError,
  type APIError,
  type HttpStatusError,
  SecurityError,
} from "../errors.ts";
import type { RsaPublicKey } from "../keys/rsa_key.ts";
import { PUBLIC_KEY_PATH, SECURE_COMPLETION_PATH } from "../protocol/endpoints.ts";
import {
  AUTHORIZATION_HEADER,
  PAYLOAD_ID_HEADER,
  PUBLIC_KEY_HEADER,
  SECURITY_TIER_HEADER,
  type SecurityTier,
} from "../protocol/headers.ts";
import { browserFetchError, type BrowserPage, browserPage, mixedContentError } from "./browser.ts";
import { connectionFailureError, originOf } from "./connection_errors.ts";
import { publicKeyHeader } from "./public_key_header.ts";
import { readCapped } from "./read_capped.ts";
import { checkNotRedirect } from "./redirects.ts";
import { parseRetryAfter } from "./retry_after.ts";
import { parseErrorBody, responseHeaders } from "./secret_scrubbing.ts";
import { requestIdOf, statusError } from "./status_errors.ts";

/** What one secure completion attempt sends. */
export interface SecureRequest {
  /** Normalized base URL (checked, no trailing slash). */
  readonly baseUrl: string;
  /** The package, UTF-8 JSON. */
  readonly body: Uint8Array<ArrayBuffer>;
  /** `X-Payload-ID`. */
  readonly payloadId: string;
  /** The client's public key, sent as `X-Public-Key` (its PEM, percent-encoded). */
  readonly publicKey: RsaPublicKey;
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

/** A 2xx answer of the secure completion endpoint. */
export interface RouterAnswer {
  /** The response body (the sealed package), within the response cap. */
  readonly body: Uint8Array<ArrayBuffer>;
  /** The router's `x-request-id` header, when it sent a well-formed one. */
  readonly requestId: string | undefined;
  /** The HTTP status. */
  readonly status: number;
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
  /** `POST {base}/v1/chat/secure_completion`: the body and request id of a 2xx answer. */
  readonly send: (request: SecureRequest) => Effect.Effect<RouterAnswer, AttemptError>;
}

/** Tag for {@linkcode RouterTransport}. */
export const RouterTransport: Context.Tag<RouterTransport, RouterTransport> = Context.GenericTag<
  RouterTransport
>("@nomyo/client/RouterTransport");

/** Error bodies are small; nothing larger is read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** A router key PEM is a few kilobytes. */
const MAX_KEY_BYTES = 64 * 1024;
/** Every request: no redirects are followed by fetch-based clients (see `redirects.ts`). */
const NO_REDIRECTS: globalThis.RequestInit = { redirect: "manual" };

const tooLarge = (payloadId: string | undefined, cap: number) => (): SecurityError =>
  new SecurityError({
    reason: "ResponseTooLarge",
    message: `Cannot read response: body exceeds ${cap} bytes`,
    payloadId,
  });

/**
 * The error of a request the platform could not send: a refused redirect (from
 * `refuseRedirects`), a browser's refusal, or a connection failure naming the router's origin
 * and the cause (see `connection_errors.ts`). The platform's error (whose request carries the
 * headers) is never kept.
 */
const requestFailure = (
  error: HttpClientError.RequestError,
  page: BrowserPage | undefined,
  payloadId: string | undefined,
): SecurityError | APIConnectionError => {
  const cause: unknown = error.cause;
  if (cause instanceof SecurityError && cause.reason === "RedirectRefused") {
    return new SecurityError({ reason: cause.reason, message: cause.message, payloadId });
  }
  if (page !== undefined && cause instanceof TypeError) return browserFetchError(page, payloadId);
  return connectionFailureError(error.request.url, cause, payloadId);
};

/**
 * Builds the transport on an `HttpClient`. Whatever the client, redirects are refused (a
 * fetch-based client is asked for `redirect: "manual"` through `FetchHttpClient.RequestInit`,
 * which replaces any `RequestInit` of yours for these requests), and bodies are read within
 * their caps.
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
    (url: string, payloadId: string | undefined, timeout: Duration.Duration) =>
    (): APIConnectionError =>
      new APIConnectionTimeoutError({
        message: `Cannot complete request to ${originOf(url)}: no answer within ${
          Duration.format(timeout)
        }`,
        payloadId,
      });

  /** Runs one request: 2xx → capped body, else the mapped status error. */
  const exchange = (
    request: HttpClientRequest.HttpClientRequest,
    cap: number,
    context: {
      readonly payloadId?: string | undefined;
      readonly securityTier?: string | undefined;
      readonly apiKey?: Redacted.Redacted<string> | undefined;
      readonly page: BrowserPage | undefined;
    },
    timeout: Duration.Duration = defaultTimeout,
  ): Effect.Effect<RouterAnswer, AttemptError> => {
    const { payloadId, securityTier, page } = context;
    const blocked = mixedContentError(page, request.url, payloadId);
    if (blocked !== undefined) return Effect.fail(blocked);
    return Effect.scoped(Effect.gen(function* () {
      const response = yield* http.execute(request);
      yield* checkNotRedirect(response, request.url, payloadId);
      // A hostile router can echo the API key anywhere: nothing unscrubbed is kept.
      const secrets = context.apiKey === undefined ? [] : [Redacted.value(context.apiKey)];
      if (response.status >= 200 && response.status < 300) {
        const body = yield* readCapped(response, cap, tooLarge(payloadId, cap));
        const requestId = requestIdOf(responseHeaders(response.headers, secrets));
        return { body, requestId, status: response.status };
      }
      const bytes = yield* readCapped(
        response,
        MAX_ERROR_BODY_BYTES,
        tooLarge(payloadId, MAX_ERROR_BODY_BYTES),
      ).pipe(Effect.orElseSucceed(() => new Uint8Array(0)));
      const now = yield* Clock.currentTimeMillis;
      const headers = responseHeaders(response.headers, secrets);
      return yield* Effect.fail(
        statusError(response.status, parseErrorBody(bytes, secrets), {
          payloadId,
          retryAfter: parseRetryAfter(response.headers["retry-after"], now),
          securityTier,
          headers,
          requestID: requestIdOf(headers),
        }),
      );
    })).pipe(
      Effect.provideService(FetchHttpClient.RequestInit, NO_REDIRECTS),
      Effect.catchTags({
        RequestError: (e: HttpClientError.RequestError) =>
          Effect.fail(requestFailure(e, page, payloadId)),
        ResponseError: (e: HttpClientError.ResponseError) =>
          Effect.fail(connectionFailureError(request.url, e.cause, payloadId)),
      }),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: timedOut(request.url, payloadId, timeout),
      }),
    );
  };

  const fetchPublicKey = (baseUrl: string) =>
    Effect.suspend(() => {
      const page = browserPage();
      // In a page, a User-Agent header would make this simple GET need a CORS preflight.
      const get = HttpClientRequest.get(`${baseUrl}${PUBLIC_KEY_PATH}`);
      return exchange(
        page === undefined
          ? get.pipe(HttpClientRequest.setHeaders({ "User-Agent": options.userAgent }))
          : get,
        MAX_KEY_BYTES,
        { page },
      );
    }).pipe(Effect.map((answer) => new TextDecoder().decode(answer.body)));

  const send = (request: SecureRequest): Effect.Effect<RouterAnswer, AttemptError> =>
    Effect.suspend(() => {
      const page = browserPage();
      const headers: Record<string, string> = {
        "Content-Type": "application/octet-stream",
        [PAYLOAD_ID_HEADER]: request.payloadId,
        [PUBLIC_KEY_HEADER]: publicKeyHeader(request.publicKey),
      };
      // Browsers set their own User-Agent; sending one would need the router to allow it.
      if (page === undefined) headers["User-Agent"] = options.userAgent;
      if (request.apiKey !== undefined) {
        headers[AUTHORIZATION_HEADER] = `Bearer ${Redacted.value(request.apiKey)}`;
      }
      if (request.securityTier !== undefined) headers[SECURITY_TIER_HEADER] = request.securityTier;
      return exchange(
        HttpClientRequest.post(`${request.baseUrl}${SECURE_COMPLETION_PATH}`).pipe(
          HttpClientRequest.setHeaders(headers),
          HttpClientRequest.bodyUint8Array(request.body, "application/octet-stream"),
        ),
        options.maxResponseBytes,
        {
          payloadId: request.payloadId,
          securityTier: request.securityTier,
          apiKey: request.apiKey,
          page,
        },
        request.timeout === undefined ? defaultTimeout : Duration.decode(request.timeout),
      );
    });

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
