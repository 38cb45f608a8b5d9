import ipaddr from 'ipaddr.js';

/**
 * Decides whether an IP address is on the public internet. Everything the outbound HTTP client connects
 * to passes through here, so the rule is deliberately "only plain global unicast is public": any special
 * range ipaddr.js knows about (private, loopback, link-local, CGNAT, documentation, reserved, …) is refused,
 * and new special ranges in future ipaddr.js versions are refused automatically.
 */
export type AddressVerdict =
  | { public: true; address: string }
  | { public: false; address: string; range: string; description: string };

// How each ipaddr.js range is named in error messages shown to workspace admins.
const DESCRIPTIONS: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10) address',
  private: 'a private network address',
  reserved: 'a reserved address',
  uniqueLocal: 'a unique-local (private IPv6) address',
  deprecatedSiteLocal: 'a site-local (private IPv6) address',
  discard: 'a discard-only address',
  '6to4': 'a 6to4 tunnel address',
  teredo: 'a Teredo tunnel address',
  benchmarking: 'a benchmarking address',
  invalid: 'not a valid IP address',
};

// IPv6 forms that carry an IPv4 address in their low 32 bits and reach it through translation; judged by
// the embedded IPv4 address (so ::ffff:127.0.0.1 is loopback, 64:ff9b::8.8.8.8 via NAT64 is public).
const EMBEDS_IPV4 = new Set(['ipv4Mapped', 'rfc6145', 'rfc6052']);

export function classifyAddress(address: string): AddressVerdict {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!ipaddr.isValid(bare)) return refused(address, 'invalid');
  let parsed = ipaddr.parse(bare);
  let range = parsed.range();
  if (parsed.kind() === 'ipv6' && EMBEDS_IPV4.has(range)) {
    const bytes = (parsed as ipaddr.IPv6).toByteArray().slice(12);
    parsed = ipaddr.fromByteArray(bytes);
    range = parsed.range();
    if (range !== 'unicast') {
      const description = `${describe(range)} (IPv4 ${parsed.toString()} embedded in IPv6)`;
      return { public: false, address, range, description };
    }
  }
  return range === 'unicast' ? { public: true, address } : refused(address, range);
}

export function isPublicAddress(address: string): boolean {
  return classifyAddress(address).public;
}

function refused(address: string, range: string): AddressVerdict {
  return { public: false, address, range, description: describe(range) };
}

function describe(range: string): string {
  return DESCRIPTIONS[range] ?? `a special-purpose address (${range})`;
}
