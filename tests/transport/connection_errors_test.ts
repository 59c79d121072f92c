/**
 * A connection failure names the router's origin and the cause (refused, DNS, a rejected TLS
 * certificate, a timeout), under Deno, Node and Bun, whose `fetch` errors differ; never the API
 * key or a header. The servers are local: a closed port, `nomyo.invalid` (the local resolver
 * fails it, nothing is sent), a TLS server with a self-signed certificate, and one that accepts
 * and never answers.
 */
import assert from "node:assert/strict";
import { APIConnectionError, APIConnectionTimeoutError } from "../../src/errors.ts";
import { classifyConnectionFailure } from "../../src/transport/connection_errors.ts";

Deno.test("classifyConnectionFailure() reads the shapes Deno, Node and Bun throw", () => {
  const chain = (...links: Array<{ message: string; code?: string }>): unknown =>
    links.reduceRight<unknown>(
      (cause, { message, code }) =>
        Object.assign(new TypeError(message, { cause }), code === undefined ? {} : { code }),
      undefined,
    );
  const cases: Array<[unknown, string, string?]> = [
    // Deno
    [
      chain({ message: "fetch failed" }, {
        message: "error sending request for url (http://127.0.0.1:9/x): client error (Connect): " +
          "tcp connect error: Connection refused (os error 111)",
      }),
      "refused",
    ],
    [
      chain({ message: "fetch failed" }, {
        message: "client error (Connect): dns error: failed to lookup address information",
      }),
      "dns",
    ],
    [
      chain({ message: "fetch failed" }, {
        message: "client error (Connect): invalid peer certificate: UnknownIssuer",
      }),
      "certificate",
      "issued by an unknown authority",
    ],
    // Node (undici)
    [
      chain({ message: "fetch failed" }, { message: "connect ECONNREFUSED", code: "ECONNREFUSED" }),
      "refused",
    ],
    [
      chain({ message: "fetch failed" }, { message: "getaddrinfo EAI_AGAIN x", code: "EAI_AGAIN" }),
      "dns",
    ],
    [
      chain({ message: "fetch failed" }, {
        message: "self-signed certificate",
        code: "DEPTH_ZERO_SELF_SIGNED_CERT",
      }),
      "certificate",
      "self-signed",
    ],
    [
      chain({ message: "fetch failed" }, {
        message: "certificate has expired",
        code: "CERT_HAS_EXPIRED",
      }),
      "certificate",
      "expired",
    ],
    [
      chain({ message: "fetch failed" }, { message: "other side closed", code: "UND_ERR_SOCKET" }),
      "reset",
    ],
    [
      chain({ message: "fetch failed" }, {
        message: "Connect Timeout Error",
        code: "UND_ERR_CONNECT_TIMEOUT",
      }),
      "timeout",
    ],
    // Bun
    [chain({ message: "ECONNREFUSED: Unable to connect.", code: "ECONNREFUSED" }), "refused"],
    [chain({ message: "getaddrinfo ENOTFOUND nomyo.invalid", code: "ENOTFOUND" }), "dns"],
    [
      chain({ message: "unable to verify", code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }),
      "certificate",
      "issued by an unknown authority",
    ],
    // Anything else
    [
      chain({ message: 'Requires net access to "nomyo.invalid:443", run again with --allow-net' }),
      "permission",
    ],
    [chain({ message: "fetch failed" }), "unknown"],
    ["not an error", "unknown"],
  ];
  for (const [error, kind, why] of cases) {
    const failure = classifyConnectionFailure(error);
    assert.equal(failure.kind, kind, JSON.stringify(String(error)));
    if (why !== undefined) assert.deepEqual(failure, { kind, why });
  }
  // A cycle in the cause chain ends.
  const a = new Error("a") as Error & { cause?: unknown };
  a.cause = a;
  assert.equal(classifyConnectionFailure(a).kind, "unknown");
});

/** A TLS certificate for localhost, self-signed, made with openssl. */
const selfSignedCert = async (dir: string): Promise<{ cert: string; key: string }> => {
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
};

/** A port nothing listens on. */
const closedPort = (): number => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
};

/** Local servers for each failure, and the URLs that reach them. */
const startServers = async () => {
  const dir = await Deno.makeTempDir({ prefix: "nomyo_conn_" });
  const { cert, key } = await selfSignedCert(dir);
  const tls = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert, key, onListen: () => {} },
    () => new Response("never reached"),
  );
  // Accepts connections and never answers.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of silent) held.push(conn);
  })().catch(() => undefined);
  const urls = {
    refused: `http://127.0.0.1:${closedPort()}`,
    dns: "https://nomyo.invalid",
    certificate: `https://localhost:${tls.addr.port}`,
    timeout: `http://127.0.0.1:${(silent.addr as Deno.NetAddr).port}`,
  };
  const close = async () => {
    await tls.shutdown();
    silent.close();
    for (const conn of held) {
      try {
        conn.close();
      } catch { /* closed by the peer */ }
    }
    await Deno.remove(dir, { recursive: true });
  };
  return { urls, close };
};

/** What each failure's message must say, after the origin. */
const EXPECTED: Record<string, RegExp> = {
  refused: /: connection refused/,
  dns: /: its host name could not be resolved \(DNS\)/,
  certificate: /: its TLS certificate was rejected \(self-signed\)/,
  timeout: /: no answer within 1s 500ms$/,
};

interface ChildLine {
  name: string;
  error?: string;
  tag?: string;
  message?: string;
  leaked: boolean;
}

const checkLine = (runtime: string, line: ChildLine, url: string): void => {
  const where = `${runtime} ${line.name}: ${line.message}`;
  assert.equal(line.tag, "APIConnectionError", where);
  assert.equal(line.leaked, false, `${where}: the API key leaked`);
  const origin = new URL(url).origin;
  if (line.name === "timeout") {
    assert.equal(line.error, "APIConnectionTimeoutError", where);
    assert.ok(line.message?.startsWith(`Cannot complete request to ${origin}: `), where);
  } else {
    assert.ok(line.message?.startsWith(`Cannot reach router at ${origin}: `), where);
  }
  assert.match(line.message ?? "", EXPECTED[line.name]!, where);
  assert.ok(!/authorization|x-public-key|bearer/i.test(line.message ?? ""), `${where}: a header`);
};

Deno.test("in this Deno test, a refused, self-signed or silent router is named with its cause", async () => {
  const { SecureChatCompletion } = await import("../../src/promise/secure_chat_completion.ts");
  const servers = await startServers();
  try {
    // DNS needs a host outside this test's --allow-net: the deno child below covers it.
    for (const [name, url] of Object.entries(servers.urls).filter(([n]) => n !== "dns")) {
      const apiKey = "sk-parent-secret-31";
      const client = new SecureChatCompletion({
        baseUrl: url,
        allowHttp: true,
        apiKey,
        maxRetries: 0,
        timeout: 1500,
        keySize: 2048,
      });
      const error = await client.create({ model: "m", messages: [{ role: "user", content: "x" }] })
        .then(() => undefined, (e) => e);
      await client.dispose();
      assert.ok(error instanceof APIConnectionError, `${name}: ${error}`);
      assert.equal(error instanceof APIConnectionTimeoutError, name === "timeout");
      const seen = [error.message, String(error), JSON.stringify(error), error.stack ?? ""];
      checkLine("deno", {
        name,
        error: error.name,
        tag: error._tag,
        message: error.message,
        leaked: seen.join("\n").includes(apiKey),
      }, url);
    }
  } finally {
    await servers.close();
  }
});

const child = new URL("./_connection_child.ts", import.meta.url).pathname;
let bundled: Promise<string> | undefined;
/** The child bundled for Node and Bun. */
const bundle = (): Promise<string> =>
  bundled ??= (async () => {
    const out = `${await Deno.makeTempDir({ prefix: "nomyo_conn_child_" })}/child.mjs`;
    const result = await new Deno.Command("deno", {
      args: ["bundle", "--platform", "browser", "-o", out, child],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
    return out;
  })();

const runtimes: Record<string, () => Promise<[string, string[]]>> = {
  // --allow-net without a list: nomyo.invalid must reach the resolver (which fails it locally).
  deno: () => Promise.resolve(["deno", ["run", "--no-check", "--allow-net", child]]),
  node: async () => ["node", [await bundle()]],
  bun: async () => ["npx", ["--yes", "bun@1", await bundle()]],
};

for (const [runtime, commandFor] of Object.entries(runtimes)) {
  Deno.test(`in ${runtime} (a child process), each connection failure names the router's origin and the cause`, async () => {
    const servers = await startServers();
    try {
      const [command, args] = await commandFor();
      const urls = Object.entries(servers.urls);
      const process = new Deno.Command(command, {
        args: [...args, ...urls.map(([name, url]) => `${name}=${url}`)],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Killed after a generous bound: detects a hang, asserts no timing.
      const timer = setTimeout(() => process.kill("SIGKILL"), 60_000);
      const output = await process.output();
      clearTimeout(timer);
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      const lines = new TextDecoder().decode(output.stdout).trim().split("\n").map((l) =>
        JSON.parse(l) as ChildLine
      );
      assert.equal(lines.length, urls.length, stderr);
      for (const line of lines) checkLine(runtime, line, servers.urls[line.name as "dns"]);
    } finally {
      await servers.close();
    }
  });
}

Deno.test("Deno without --allow-net for the router says which permission is missing", async () => {
  const { SecureChatCompletion } = await import("../../src/promise/secure_chat_completion.ts");
  const client = new SecureChatCompletion({
    baseUrl: "https://nomyo.invalid", // outside this test's --allow-net=127.0.0.1,localhost
    maxRetries: 0,
    keySize: 2048,
  });
  try {
    const error = await client.create({ model: "m", messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof APIConnectionError, String(error));
    assert.equal(
      error.message,
      "Cannot reach router at https://nomyo.invalid: Deno's permissions do not allow it " +
        "(run with --allow-net for that host)",
    );
  } finally {
    await client.dispose();
  }
});
