/**
 * The Responses API door of the OpenAI handler: `POST …/responses` translated to the one chat
 * completion request, and its answer translated back to a `Response` object or the Responses
 * event stream. The handler reads the body, takes out the client's own fields, sends the chat
 * request and maps its errors, as for `…/chat/completions`.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionRequest } from "../protocol/chat.ts";
import { errorResponse } from "./errors.ts";
import { completionToResponse } from "./responses_answer.ts";
import { responseEvents, RESPONSES_SSE_HEADERS, responsesSseBody } from "./responses_events.ts";
import { translateResponsesRequest } from "./responses_request.ts";

/** The paths served by this door: any ending in `/responses`. */
export const RESPONSES_PATH: RegExp = /(^|\/)responses$/;

/** A translated Responses request: what to send, and how to answer. */
export interface ResponsesDoor {
  /** The chat completion request to send. */
  readonly request: ChatCompletionRequest;
  /**
   * The answer to the caller: the `Response` object as JSON, or the event stream when the
   * request asked for `stream: true`.
   */
  readonly answer: (completion: ChatCompletion, headers: Record<string, string>) => Response;
}

/**
 * Translates a Responses request body (see `translateResponsesRequest`), or answers the 400
 * that names the refused field: OpenAI's error shape with `param` set, `x-should-retry: false`.
 *
 * @param body The parsed body, without the client's own fields (`stream` and `stream_options`
 * included: they are the Responses request's).
 * @returns The door, or the 400 answer.
 */
export const responsesDoor = (body: Record<string, unknown>): ResponsesDoor | Response => {
  const translated = translateResponsesRequest(body);
  if (!translated.ok) {
    return errorResponse(400, translated.message, translated.code, {
      param: translated.param,
      retry: false,
    });
  }
  const { request, stream, echo } = translated;
  return {
    request,
    answer: (completion, headers) => {
      const response = completionToResponse(completion, echo);
      if (stream) {
        return new Response(responsesSseBody(responseEvents(response)), {
          status: 200,
          headers: { ...RESPONSES_SSE_HEADERS, ...headers },
        });
      }
      return new Response(JSON.stringify(response), {
        status: 200,
        headers: { "content-type": "application/json", ...headers },
      });
    },
  };
};
