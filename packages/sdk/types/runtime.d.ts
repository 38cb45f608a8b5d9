// The only host globals the SDK (and the client core under it) may use: what every target runtime has —
// browsers, Node, React Native, the WeChat mini-program JS engine. Anything else (window, document,
// localStorage, fetch, FormData) is reached through `globalThis` behind a feature check. Used by
// packages/sdk/tsconfig.json, which compiles without the DOM and Node libraries to prove it.
declare function setTimeout(handler: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
// Not used at runtime: @huiliu/contracts is imported for types only, but tsc checks the schema file those
// types come from, which calls TextEncoder.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
