/** `Retry-After` is read by RFC 9110's strict grammar only. */
import assert from "node:assert/strict";
import { parseRetryAfter } from "../../src/transport/retry_after.ts";

Deno.test("parseRetryAfter() reads the three HTTP-date forms and delta-seconds", () => {
  const now = Date.UTC(1994, 10, 6, 8, 49, 7);
  assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), 30);
  assert.equal(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), 30);
  assert.equal(parseRetryAfter("Sun Nov  6 08:49:37 1994", now), 30);
  assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:48:37 GMT", now), 0, "past: now");
  assert.equal(parseRetryAfter("120", now), 120);
  assert.equal(parseRetryAfter("007", now), 7);
});

Deno.test("parseRetryAfter() treats every value outside the grammar as absent, never as now", () => {
  const now = Date.UTC(2026, 0, 1);
  const hostile = [
    "2, 3",
    "1, 2",
    "0, 0",
    ",",
    "GMT",
    "1.5",
    "+5",
    "-1",
    "1e3",
    "0x10",
    " 5s",
    "soon",
    "Infinity",
    "NaN",
    "Sun, 06 Nov 1994 08:49:37",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "sun, 06 nov 1994 08:49:37 gmt",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun, 31 Feb 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 25:49:37 GMT",
    "Sun, 06 Nov 1994 08:61:37 GMT",
    "Sun, 06 Foo 1994 08:49:37 GMT",
    "Sunday, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
    "2026-01-01T00:00:10Z",
    "Thu Jan 01 2026 00:00:10 GMT+0000",
    "Tuesday",
    "1\u00a0",
    "\u0661",
    "9".repeat(100_000) + "x",
    ", ".repeat(10_000),
  ];
  for (const value of hostile) {
    assert.equal(parseRetryAfter(value, now), undefined, JSON.stringify(value.slice(0, 60)));
  }
  // Surrounding whitespace is optional whitespace of the field, not part of the value.
  assert.equal(parseRetryAfter(" 5 ", now), 5);
});

Deno.test("parseRetryAfter() stays linear on long hostile values", () => {
  // Not a timing assertion: a quadratic trim or regex would not finish this in the test's life.
  const long = " ".repeat(1_000_000) + "x" + "\t".repeat(1_000_000);
  assert.equal(parseRetryAfter(long, 0), undefined);
  assert.equal(parseRetryAfter(" ".repeat(1_000_000) + "7" + " ".repeat(1_000_000), 0), 7);
});
