let counter = 0;

/**
 * A message `clientId`: random enough to be unique across devices and page loads (the server dedupes
 * retries on it), and within the contract's alphabet `[A-Za-z0-9._:-]`, at most 100 chars.
 * `crypto.randomUUID` is not used because browsers only expose it on HTTPS pages and the widget may be
 * embedded on plain HTTP; `getRandomValues` is available there. Environments without Web Crypto (some
 * mini-program runtimes) fall back to Math.random plus time and a counter.
 */
export function createClientId(): string {
  const bytes = new Uint8Array(16);
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (crypto?.getRandomValues) {
    crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  }
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  counter = (counter + 1) % 1_679_616; // 36^4: keeps the suffix short
  return `c-${Date.now().toString(36)}-${hex}-${counter.toString(36)}`;
}
