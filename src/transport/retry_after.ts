/**
 * `Retry-After` parsing by RFC 9110's grammar only (§10.2.3): `delta-seconds` or an
 * HTTP-date (§5.6.7); anything else counts as absent.
 *
 * @module
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = `(${MONTHS.join("|")})`;
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
/** RFC 9110 §5.6.7: IMF-fixdate, obsolete RFC 850 date, asctime date. Case-sensitive. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Milliseconds of a calendar date and time, or `undefined` when a field is out of range. */
const utcMillis = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | undefined => {
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return undefined;
  const at = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March: refuse instead.
  return new Date(at).getUTCDate() === day ? at : undefined;
};

/** Milliseconds of an HTTP-date (RFC 9110), or `undefined` when `text` is not one. */
const parseHttpDate = (text: string): number | undefined => {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) {
    return utcMillis(+m[3]!, MONTHS.indexOf(m[2]!), +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = RFC850_DATE.exec(text);
  if (m !== null) {
    // Two-digit years: RFC 9110 reads one more than 50 years ahead as the past century; this
    // reads 70–99 as 19xx and the rest as 20xx, close enough for a retry delay.
    const yy = +m[3]!;
    return utcMillis(
      yy >= 70 ? 1900 + yy : 2000 + yy,
      MONTHS.indexOf(m[2]!),
      +m[1]!,
      +m[4]!,
      +m[5]!,
      +m[6]!,
    );
  }
  m = ASCTIME_DATE.exec(text);
  if (m !== null) {
    return utcMillis(+m[6]!, MONTHS.indexOf(m[1]!), +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  }
  return undefined;
};

/** Optional whitespace is SP and HTAB only (`String.trim` would also take NBSP and more). */
const trimOws = (value: string): string => {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === " " || value[start] === "\t")) start++;
  while (end > start && (value[end - 1] === " " || value[end - 1] === "\t")) end--;
  return value.slice(start, end);
};

/**
 * Parses `Retry-After` by RFC 9110's grammar only: `delta-seconds` (digits) or an HTTP-date
 * (relative to `nowMillis`). Anything else (`"2, 3"`, `"1.5"`, `"soon"`, a date in another
 * format) is treated as absent, never as "now".
 *
 * @param value The header value.
 * @param nowMillis The current time (from Effect's `Clock`, so tests control it).
 * @returns Seconds to wait (≥ 0), or `undefined` when absent or unreadable.
 */
export const parseRetryAfter = (
  value: string | undefined,
  nowMillis: number,
): number | undefined => {
  if (value === undefined) return undefined;
  const trimmed = trimOws(value);
  if (/^\d+$/.test(trimmed)) {
    // Huge values mean "a long time"; keep them finite (and over any cap).
    return trimmed.length > 10 ? 2 ** 31 : Number(trimmed);
  }
  if (trimmed.length > 40) return undefined;
  const at = parseHttpDate(trimmed);
  return at === undefined ? undefined : Math.max(0, Math.ceil((at - nowMillis) / 1000));
};
