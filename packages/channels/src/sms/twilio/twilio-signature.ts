import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Twilio's request signature (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
 * base64(HMAC-SHA1(authToken, <full URL as Twilio called it, query included> + each POST parameter
 * sorted by name, appended as name + value with no separators)).
 * A repeated name is appended once per distinct value, values sorted — as Twilio's own helper libraries do.
 */
export function twilioSignature(authToken: string, url: string, params: Iterable<[string, string]>): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of params) {
    let values = byName.get(name);
    if (!values) byName.set(name, (values = new Set()));
    values.add(value);
  }
  let data = url;
  for (const name of [...byName.keys()].sort()) {
    for (const value of [...byName.get(name)!].sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * The URLs Twilio may have signed for one public URL: as given, and with the default port toggled
 * (Twilio signs what was configured, and proxies add or drop ":443"), as Twilio's helper libraries try.
 */
export function signedUrlCandidates(url: string): string[] {
  // Parsed by hand: WHATWG URL drops an explicit default port, which is exactly what we need to see.
  const m = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(url);
  if (!m) return [url];
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
  const explicit = /:(\d+)$/.exec(authority);
  if (!explicit) return [url, `${scheme}://${authority}:${defaultPort}${rest}`];
  if (explicit[1] === defaultPort) return [url, `${scheme}://${authority.slice(0, -explicit[0].length)}${rest}`];
  return [url];
}

export function verifyTwilioSignature(authToken: string, signature: string, url: string, params: Array<[string, string]>): boolean {
  const given = Buffer.from(signature, 'utf8');
  return signedUrlCandidates(url).some((candidate) => {
    const expected = Buffer.from(twilioSignature(authToken, candidate, params), 'utf8');
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}
