/**
 * The base64 codecs agree: every codec a runtime has (`native`: TC39 `Uint8Array` base64 on
 * Deno and Bun; `node`: Node's and Bun's `Buffer`; `portable`) encodes exactly as effect's
 * `Encoding` and accepts and refuses exactly the same strings and body bytes, hostile ones
 * included. The cases (`_base64_codec_cases.ts`) run here under Deno, and bundled under Node
 * (20 as installed, and 24) and Bun, where the `node` and `native` codecs take their own paths;
 * with them `parsePackage`'s large-body path, which finds the ciphertext's end with `Buffer` on
 * Node and Bun and by string search on Deno.
 */
import assert from "node:assert/strict";
import { base64Codecs } from "../../src/protocol/base64.ts";
import { type CodecReport, HOSTILE_STRINGS, runCodecCases } from "./_base64_codec_cases.ts";

const child = new URL("./_base64_codec_child.ts", import.meta.url).pathname;

const assertReport = (report: CodecReport, runtime: string): void => {
  assert.deepEqual(report.failures, [], `${runtime}: codecs ${report.codecs.join(", ")}`);
  assert.ok(report.codecs.includes("portable"), `${runtime}: the portable codec is compared`);
  assert.ok(report.codecs.length >= 2, `${runtime}: a second codec is compared with it`);
  // Each hostile string, inside and after long text, and each hostile byte at five places.
  assert.ok(report.refused >= HOSTILE_STRINGS.length * 2 + 190 * 5, `${runtime}: cases ran`);
  assert.ok(report.bodies >= 49, `${runtime}: large bodies were parsed`);
};

Deno.test("base64 codecs agree, refuse the same hostile inputs, and parsePackage reads large bodies as JSON.parse does, under Deno", () => {
  assert.equal(base64Codecs.active, "native", "Deno has Uint8Array.prototype.setFromBase64");
  assertReport(runCodecCases(), "Deno");
});

let bundled: Promise<string> | undefined;
const bundle = (): Promise<string> =>
  bundled ??= (async () => {
    const out = `${await Deno.makeTempDir({ prefix: "nomyo_base64_" })}/codecs.mjs`;
    const { success, stderr } = await new Deno.Command("deno", {
      args: ["bundle", "--platform", "browser", "--quiet", "-o", out, child],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(success, new TextDecoder().decode(stderr));
    return out;
  })();

const runtimes: ReadonlyArray<[string, string, string[], ReadonlyArray<string>]> = [
  ["Node 20", "node", [], ["node", "portable"]],
  ["Node 24", "npx", ["--yes", "node@24"], ["node", "portable"]],
  ["Bun", "npx", ["--yes", "bun@1"], ["native", "node", "portable"]],
];

for (const [runtime, command, prefix, codecs] of runtimes) {
  Deno.test(`base64 codecs agree, refuse the same hostile inputs, and parsePackage reads large bodies as JSON.parse does, under ${runtime}`, async () => {
    const { success, stdout, stderr } = await new Deno.Command(command, {
      args: [...prefix, await bundle()],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout);
    assert.ok(success, `${runtime} failed: ${new TextDecoder().decode(stderr)}`);
    const line = text.split("\n").find((l) => l.startsWith("RESULT "));
    assert.ok(line !== undefined, `${runtime} printed no result: ${text}`);
    const report = JSON.parse(line.slice("RESULT ".length)) as CodecReport;
    assert.deepEqual([...report.codecs].sort(), [...codecs].sort(), `${runtime}: codecs`);
    assertReport(report, runtime);
  });
}
