/**
 * The known-routers file is read as hostile input: every malformed shape is a `KeyError` that
 * names the file and what is wrong, never a crash, never a silent reset; writes are 0600 and
 * atomic.
 */
import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import { KeyError } from "../../src/errors.ts";
import {
  formatKnownRouters,
  MAX_KNOWN_ROUTERS_BYTES,
  parseKnownRouters,
  readKnownRouters,
  writeKnownRouters,
} from "../../src/keys/known_routers_file.ts";
import { failureOf } from "../_helpers.ts";
import { withTempDir } from "./_helpers.ts";

const FP = "ab".repeat(32);
const utf8 = (s: string) => new TextEncoder().encode(s);
const parse = (text: string | Uint8Array) =>
  Effect.runPromiseExit(parseKnownRouters(typeof text === "string" ? utf8(text) : text, "/k.json"));

Deno.test("parseKnownRouters() reads a well-formed file", async () => {
  const exit = await parse(JSON.stringify({
    version: 1,
    routers: { "https://api.nomyo.ai": FP, "http://127.0.0.1:8080": "cd".repeat(32) },
  }));
  assert.ok(Exit.isSuccess(exit));
  assert.equal(exit.value.get("https://api.nomyo.ai"), FP);
  assert.equal(exit.value.get("http://127.0.0.1:8080"), "cd".repeat(32));
  assert.equal(exit.value.size, 2);
});

Deno.test("parseKnownRouters() refuses every malformed file, naming the file and the fault", async () => {
  const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
  const cases: ReadonlyArray<readonly [string, string | Uint8Array, RegExp]> = [
    ["empty", "", /is empty/],
    ["not JSON", "{version: 1}", /is not JSON/],
    ["truncated", '{"version":1,"routers":{', /is not JSON/],
    ["not UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /not UTF-8/],
    ["too large", new Uint8Array(MAX_KNOWN_ROUTERS_BYTES + 1).fill(0x20), /larger than 1 MiB/],
    ["deep", deep, /nested deeper/],
    ["deep inside routers", '{"version":1,"routers":{"https://a.b":[[1]]}}', /nested deeper/],
    ["an array", "[]", /not a JSON object/],
    ["null", "null", /not a JSON object/],
    ["a string", '"x"', /not a JSON object/],
    ["no version", '{"routers":{}}', /has no version/],
    ["version 2", '{"version":2,"routers":{}}', /version 2; this client reads version 1/],
    ["version as string", '{"version":"1","routers":{}}', /version of the wrong type/],
    ["unknown key", `{"version":1,"routers":{},"extra":true}`, /unknown key "extra"/],
    ["__proto__ key", `{"version":1,"routers":{},"__proto__":{}}`, /unknown key "__proto__"/],
    ["no routers", '{"version":1}', /no routers object/],
    ["routers array", '{"version":1,"routers":[]}', /no routers object/],
    ["routers null", '{"version":1,"routers":null}', /no routers object/],
    [
      "bad origin",
      `{"version":1,"routers":{"api.nomyo.ai":"${FP}"}}`,
      /"api\.nomyo\.ai", which is not a router origin/,
    ],
    [
      "origin with path",
      `{"version":1,"routers":{"https://a.b/v1":"${FP}"}}`,
      /not a router origin/,
    ],
    [
      "origin trailing slash",
      `{"version":1,"routers":{"https://a.b/":"${FP}"}}`,
      /not a router origin/,
    ],
    ["ftp origin", `{"version":1,"routers":{"ftp://a.b":"${FP}"}}`, /not a router origin/],
    [
      "__proto__ origin",
      `{"version":1,"routers":{"__proto__":"${FP}"}}`,
      /"__proto__", which is not/,
    ],
    ["upper-case host", `{"version":1,"routers":{"https://A.B":"${FP}"}}`, /not a router origin/],
    ["short fingerprint", '{"version":1,"routers":{"https://a.b":"abcd"}}', /not 64 lowercase hex/],
    [
      "upper-case fingerprint",
      `{"version":1,"routers":{"https://a.b":"${FP.toUpperCase()}"}}`,
      /not 64 lowercase hex/,
    ],
    [
      "colons",
      `{"version":1,"routers":{"https://a.b":"${FP.match(/../g)!.join(":")}"}}`,
      /not 64 lowercase hex/,
    ],
    ["number fingerprint", '{"version":1,"routers":{"https://a.b":1}}', /not 64 lowercase hex/],
    ["object fingerprint", '{"version":1,"routers":{"https://a.b":{}}}', /not 64 lowercase hex/],
  ];
  for (const [name, text, message] of cases) {
    const exit = await parse(text);
    const error = failureOf(exit);
    assert.ok(error instanceof KeyError, name);
    assert.equal(error.reason, "Malformed", name);
    assert.match(error.message, /^Cannot read known routers: \/k\.json /, name);
    assert.match(error.message, message, name);
    assert.match(error.message, /move it away/, name);
  }
});

Deno.test("parseKnownRouters() shows a hostile origin escaped and cut, not raw", async () => {
  const origin = `x\n\u001b[31m${"y".repeat(500)}`;
  const error = failureOf(
    await parse(JSON.stringify({ version: 1, routers: { [origin]: FP } })),
  );
  assert.ok(!error.message.includes("\n"));
  assert.ok(!error.message.includes("\u001b"));
  assert.ok(!error.message.includes("y".repeat(100)));
});

Deno.test("formatKnownRouters() output parses back to the same routers, origins sorted", async () => {
  const routers = new Map([["https://z.example", FP], ["http://127.0.0.1:1", "01".repeat(32)]]);
  const text = formatKnownRouters(routers);
  assert.ok(text.indexOf("http://127.0.0.1:1") < text.indexOf("https://z.example"));
  const exit = await parse(text);
  assert.ok(Exit.isSuccess(exit));
  assert.deepEqual([...exit.value].sort(), [...routers].sort());
});

Deno.test("writeKnownRouters() writes mode 0600 atomically, and readKnownRouters() reads it back", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/sub/known_routers.json`;
    const missing = await Effect.runPromise(readKnownRouters(path));
    assert.equal(missing.size, 0);
    await Effect.runPromise(writeKnownRouters(path, new Map([["https://a.b", FP]])));
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/sub`)).mode! & 0o777, 0o700);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), {
      version: 1,
      routers: { "https://a.b": FP },
    });
    const back = await Effect.runPromise(readKnownRouters(path));
    assert.equal(back.get("https://a.b"), FP);
    // No temporary file left behind.
    const names = [];
    for await (const e of Deno.readDir(`${dir}/sub`)) names.push(e.name);
    assert.deepEqual(names, ["known_routers.json"]);
  });
});

Deno.test("readKnownRouters() refuses a symbolic link, a group-readable file and a directory", async () => {
  await withTempDir(async (dir) => {
    const real = `${dir}/real.json`;
    await Deno.writeTextFile(real, formatKnownRouters(new Map([["https://a.b", FP]])), {
      mode: 0o600,
    });
    await Deno.chmod(real, 0o600);
    await Deno.symlink(real, `${dir}/link.json`);
    const link = failureOf(await Effect.runPromiseExit(readKnownRouters(`${dir}/link.json`)));
    assert.ok(link instanceof KeyError);
    assert.equal(link.reason, "InsecurePermissions");
    assert.match(link.message, /link\.json is a symbolic link/);

    await Deno.chmod(real, 0o644);
    const open = failureOf(await Effect.runPromiseExit(readKnownRouters(real)));
    assert.ok(open instanceof KeyError);
    assert.equal(open.reason, "InsecurePermissions");
    assert.match(open.message, /chmod 600/);

    await Deno.mkdir(`${dir}/d.json`);
    const directory = failureOf(await Effect.runPromiseExit(readKnownRouters(`${dir}/d.json`)));
    assert.ok(directory instanceof KeyError);
    assert.match(directory.message, /d\.json/);
  });
});
