/**
 * Type parsing shared by both drivers so rows look the same on PGlite and PostgreSQL:
 * int8 and numeric as JS numbers (our counters and ids stay far below 2^53), timestamps as ISO strings.
 */
export const OID = { int8: 20, numeric: 1700, timestamp: 1114, timestamptz: 1184, date: 1082, xid8: 5069 } as const;

export function parseTimestamp(value: string): string {
  // PostgreSQL text output: "2026-11-21 06:44:00.123+00"; make it ISO-8601 in UTC.
  const iso = value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

export const textParsers: Record<number, (value: string) => unknown> = {
  [OID.int8]: (v) => Number(v),
  [OID.numeric]: (v) => Number(v),
  [OID.timestamptz]: parseTimestamp,
  [OID.timestamp]: (v) => parseTimestamp(`${v}+00`),
  [OID.date]: (v) => v,
  [OID.xid8]: (v) => v,
};
