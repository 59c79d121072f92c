/**
 * `POST …/responses` spoken to directly through `client.fetch` and through the local proxy: the
 * JSON Response and the raw event stream, the client's own fields as on the chat door, the 400
 * naming a refused field, router errors in OpenAI's shape, and the paths that stay 404.
 */
import assert from "node:assert/strict";
import OpenAI from "npm:openai@7";
import type { SecureChatCompletion } from "../../src/promise/secure_chat_completion.ts";
import { serveProxy } from "../../src/proxy/proxy.ts";
import { MAX_JSON_DEPTH } from "../../src/protocol/json.ts";
import { assertSealed, completions, lastPlaintext, STATUSES, withClient } from "./_setup.ts";

const URL_ = "http://nomyo.invalid/v1/responses";

const post = (
  client: SecureChatCompletion,
  body: unknown,
  init: RequestInit = {},
  url = URL_,
): Promise<Response> =>
  client.fetch(url, {
    method: "POST",
    ...init,
    headers: { "content-type": "application/json", ...init.headers as Record<string, string> },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

Deno.test("client.fetch answers POST /v1/responses with a Response object", async () => {
  await withClient(async (client, router) => {
    const response = await post(client, { model: "m", input: "fetch-resp-1" });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    const body = await response.json();
    const payloadId = body._metadata.payload_id;
    assert.equal(response.headers.get("x-payload-id"), payloadId);
    assert.match(response.headers.get("x-request-id") ?? "", /^req_/); // the router's
    assert.equal(response.headers.get("x-payload-id"), payloadId);
    assert.deepEqual(body.output, [{
      id: `msg_${payloadId}`,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: "Echo: fetch-resp-1", annotations: [] }],
    }]);
    assert.equal(body.id, `resp_${payloadId}`);
    assert.equal(body.object, "response");
    assert.equal(body.status, "completed");
    assert.equal(body.incomplete_details, null);
    assert.equal(body.instructions, null, "no copy of the prompt");
    assert.equal(body.store, false);
    assert.deepEqual(Object.keys(body.usage).sort(), [
      "input_tokens",
      "input_tokens_details",
      "output_tokens",
      "output_tokens_details",
      "total_tokens",
    ]);
    assert.equal(body._metadata.is_encrypted, true);
    assertSealed(router, 1, "fetch-resp-1");
  });
});

Deno.test("client.fetch streams /responses as named events without [DONE]", async () => {
  await withClient(async (client) => {
    const response = await post(client, { model: "m", input: "streamed", stream: true });
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = (await response.text()).split("\n\n").filter((e) => e !== "").map((e) => {
      const [eventLine = "", dataLine = "", ...rest] = e.split("\n");
      assert.equal(rest.length, 0, "one data line per event");
      assert.ok(eventLine.startsWith("event: ") && dataLine.startsWith("data: "), e);
      const data = JSON.parse(dataLine.slice(6));
      assert.equal(eventLine.slice(7), data.type);
      return data;
    });
    assert.deepEqual(events.map((e) => e.type), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    assert.equal(events[0].response.status, "in_progress");
    assert.equal(events[0].response._metadata, undefined);
    assert.equal(events.at(-1).response._metadata.is_encrypted, true);
    assert.equal(events.at(-1).response.output[0].content[0].text, "Echo: streamed");
  });
});

Deno.test("client.fetch /responses: the tier and key as on the chat door", async () => {
  await withClient(async (client, router) => {
    await post(client, { model: "m", input: "a", security_tier: "high" });
    await post(client, { model: "m", input: "b" }, { headers: { "x-security-tier": "high" } });
    assert.deepEqual(completions(router).map((r) => r.headers["x-security-tier"]), [
      "high",
      "high",
    ]);
    assert.equal("security_tier" in lastPlaintext(router), false);
    const key = await post(client, { model: "m", input: "c", api_key: "sk-other" });
    assert.equal(key.status, 400);
    assert.match((await key.json()).error.message, /api_key/);
    assert.equal(completions(router).length, 2);
  });
});

Deno.test("client.fetch /responses: a refused field is a 400 with param, nothing sent", async () => {
  await withClient(async (client, router) => {
    const response = await post(client, {
      model: "m",
      input: "secret-words",
      tools: [{ type: "file_search", vector_store_ids: ["vs_1"] }],
    });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("x-should-retry"), "false");
    const { error } = await response.json();
    assert.equal(error.type, "invalid_request_error");
    assert.equal(error.param, "tools[0].type");
    assert.equal(error.code, "unsupported_parameter");
    assert.match(error.message, /tools\[0\]\.type/);
    assert.ok(!error.message.includes("secret-words"));
    const deep = await post(
      client,
      `{"model":"m","input":${"[".repeat(MAX_JSON_DEPTH + 1)}${"]".repeat(MAX_JSON_DEPTH + 1)}}`,
    );
    assert.equal(deep.status, 400);
    assert.equal((await deep.json()).error.code, "invalid_json");
    const notJson = await post(client, "{");
    assert.equal(notJson.status, 400);
    assert.equal(completions(router).length, 0);
  });
});

Deno.test("client.fetch /responses: other methods are 405, sub-paths 404", async () => {
  await withClient(async (client, router) => {
    const get = await client.fetch(URL_);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    assert.equal((await get.json()).error.code, "method_not_allowed");
    for (const path of ["/v1/responses/resp_1", "/v1/responses/resp_1/cancel", "/v1/responsesx"]) {
      const response = await post(client, { model: "m", input: "x" }, {}, `http://h${path}`);
      assert.equal(response.status, 404, path);
      assert.match((await response.json()).error.message, /POST \/responses/);
    }
    assert.equal(completions(router).length, 0);
  });
});

Deno.test("openai responses.create(): router errors raise openai's classes", async () => {
  await withClient(async (client, router) => {
    const openai = new OpenAI({
      baseURL: "https://nomyo.invalid/v1",
      apiKey: "unused",
      maxRetries: 0,
      fetch: client.fetch,
    });
    for (const [status, name] of STATUSES) {
      router.inject({ status, detail: `router says ${status}` });
      await assert.rejects(openai.responses.create({ model: "m", input: "a" }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.APIError, `${status}: an APIError`);
        assert.equal(e.constructor.name, name);
        assert.equal(e.status, status);
        return true;
      });
    }
  });
});

Deno.test("the proxy serves openai responses.create() and responses.stream()", async () => {
  await withClient(async (client, router) => {
    const proxy = await serveProxy({ handler: client.fetch });
    try {
      const openai = new OpenAI({ baseURL: proxy.url, apiKey: "unused", maxRetries: 0 });
      const response = await openai.responses.create({ model: "m", input: "proxy-resp-1" });
      assert.equal(response.output_text, "Echo: proxy-resp-1");
      const stream = openai.responses.stream({ model: "m", input: "proxy-resp-2" });
      let deltas = "";
      stream.on("response.output_text.delta", (event) => {
        deltas += event.delta;
      });
      const final = await stream.finalResponse();
      assert.equal(final.output_text, "Echo: proxy-resp-2");
      assert.equal(deltas, "Echo: proxy-resp-2");
      const refused = await fetch(`${proxy.url}/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", input: "x", previous_response_id: "resp_1" }),
      });
      assert.equal(refused.status, 400);
      assert.equal((await refused.json()).error.param, "previous_response_id");
      assertSealed(router, 2, "proxy-resp");
    } finally {
      await proxy.close();
    }
  });
});
