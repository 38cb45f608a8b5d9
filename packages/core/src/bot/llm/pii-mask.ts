/**
 * Masks personal data before any text leaves for an external LLM provider (chat and embeddings).
 * Each mask keeps a hint (138****8000, ****1234, a***@example.com) so the model still sees "a phone
 * number was here" and an agent reading a summary can match it to the customer, but the provider never
 * receives the full value.
 *
 * Passes run in a fixed order, most specific first, and each replaces digits with '*', so a later pass
 * can never match what an earlier one masked: emails (their local part may hold digits) → 18-char ID
 * numbers (checksum + birth date) → bank cards (Luhn) → 15-digit ID numbers (birth date) → CN mobiles →
 * other E.164 numbers. Order numbers and amounts are left alone unless they happen to pass a checksum:
 * the bot needs them, and a checksum keeps false positives rare.
 */

export interface MaskResult {
  text: string;
  /** How many values were masked. */
  found: number;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const ID18 = /(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])/g;
// Digits with single spaces or dashes between groups; the group shape is checked in code.
const CARD = /(?<![\d+])\d{4,6}(?:[ -]?\d{2,13}){1,4}(?!\d)/g;
const ID15 = /(?<![\dA-Za-z])\d{15}(?![\dA-Za-z])/g;
// Optional +86 / 0086 / 86 prefix, then 1[3-9]x followed by 8 digits, as 11 digits or 3-4-4 groups.
const CN_MOBILE = /(?<![\d+])((?:\+|00)?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)/g;
const E164 = /(?<![\d\w])\+[1-9](?:[ -]?\d){6,14}(?!\d)/g;

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

export function maskPii(text: string): MaskResult {
  let found = 0;
  let out = text;

  out = out.replace(EMAIL, (email) => {
    found++;
    const at = email.indexOf('@');
    return `${email[0]}***${email.slice(at)}`;
  });

  out = out.replace(ID18, (id) => {
    if (!isChineseId18(id)) return id;
    found++;
    return `${id.slice(0, 3)}${'*'.repeat(11)}${id.slice(-4)}`;
  });

  out = out.replace(CARD, (run) => {
    const digits = run.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19 || !plausibleCardGrouping(run) || !luhn(digits)) return run;
    found++;
    return `****${digits.slice(-4)}`;
  });

  out = out.replace(ID15, (id) => {
    if (!validDate(1900 + Number(id.slice(6, 8)), Number(id.slice(8, 10)), Number(id.slice(10, 12)))) return id;
    found++;
    return `${id.slice(0, 3)}${'*'.repeat(8)}${id.slice(-4)}`;
  });

  out = out.replace(CN_MOBILE, (_m, prefix: string | undefined, head: string, _mid: string, tail: string) => {
    found++;
    return `${prefix ?? ''}${head}****${tail}`;
  });

  out = out.replace(E164, (phone) => {
    const digits = phone.replace(/\D/g, '');
    found++;
    return `+${digits.slice(0, 2)}${'*'.repeat(Math.max(1, digits.length - 6))}${digits.slice(-4)}`;
  });

  return { text: out, found };
}

/** GB 11643-1999: 6-digit region, 8-digit birth date, 3-digit sequence, ISO 7064 MOD 11-2 check character. */
export function isChineseId18(id: string): boolean {
  if (!/^\d{17}[\dXx]$/.test(id)) return false;
  if (!validDate(Number(id.slice(6, 10)), Number(id.slice(10, 12)), Number(id.slice(12, 14)))) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11] === id[17]!.toUpperCase();
}

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function validDate(year: number, month: number, day: number): boolean {
  if (year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Cards are written as one run or in groups of 4 (4-4-4-4, 4-4-4-4-3, 6-13 for some UnionPay prints, 4-6-5
 * for Amex). Requiring that shape keeps "order 1234 5678 …" style sequences of unrelated numbers from being
 * joined into one Luhn candidate.
 */
function plausibleCardGrouping(run: string): boolean {
  const groups = run.split(/[ -]/);
  if (groups.length === 1) return true;
  const lens = groups.map((g) => g.length).join('-');
  if (lens === '4-6-5' || lens === '6-13') return true;
  return groups.slice(0, -1).every((g) => g.length === 4) && groups.at(-1)!.length >= 1 && groups.at(-1)!.length <= 4;
}
