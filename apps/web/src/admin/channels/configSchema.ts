/**
 * A channel kind's settings arrive as JSON Schema (generated on the server with z.toJSONSchema from the
 * adapter's zod schema). The console turns it into a list of fields to draw: plain values, enums, string
 * lists and nested objects (e.g. email's `imap { host, port, secure, user }`) as groups. Anything more
 * exotic falls back to a JSON text box, so a new adapter never leaves a setting impossible to edit.
 */

type Json = Record<string, unknown>;

interface FieldBase {
  key: string;
  /** Inside `config`: ['imap', 'port']. */
  path: string[];
  title: string | null;
  description: string | null;
  required: boolean;
  default: unknown;
}

export type ConfigField =
  | (FieldBase & { kind: 'string'; format: string | null; minLength: number | null; maxLength: number | null; pattern: string | null; secretLike: boolean; multiline: boolean })
  | (FieldBase & { kind: 'number'; integer: boolean; minimum: number | null; maximum: number | null })
  | (FieldBase & { kind: 'boolean' })
  | (FieldBase & { kind: 'enum'; options: (string | number)[] })
  | (FieldBase & { kind: 'list' })
  | (FieldBase & { kind: 'group'; fields: ConfigField[] })
  | (FieldBase & { kind: 'json' });

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** `#/$defs/Imap` → the definition; zod emits refs for schemas used more than once. */
function deref(schema: Json, root: Json): Json {
  let s = schema;
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    const parts = s.$ref.replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let target: unknown = root;
    for (const p of parts) target = isObj(target) ? target[p] : undefined;
    if (!isObj(target)) break;
    const { $ref: _ref, ...rest } = s;
    s = { ...target, ...rest };
  }
  return s;
}

/**
 * Optional and nullable values come out as `anyOf: [X, { type: 'null' }]`; a union of constants is an enum.
 * Returns the schema to draw and whether null was one of the alternatives.
 */
function unwrap(schema: Json, root: Json): Json {
  const s = deref(schema, root);
  const alts = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null) as unknown[] | null;
  if (alts) {
    const real = alts.filter(isObj).map((a) => deref(a, root)).filter((a) => a.type !== 'null');
    if (real.length === 1) return { ...real[0], ...pick(s, ['title', 'description', 'default']) };
    if (real.length > 1 && real.every((a) => 'const' in a)) return { ...pick(s, ['title', 'description', 'default']), enum: real.map((a) => a.const) };
  }
  if (Array.isArray(s.type)) {
    const types = s.type.filter((x) => x !== 'null');
    if (types.length === 1) return { ...s, type: types[0] };
  }
  return s;
}

function pick(s: Json, keys: string[]): Json {
  const out: Json = {};
  for (const k of keys) if (k in s) out[k] = s[k];
  return out;
}

/** Names that should never be echoed on screen even if an adapter forgot to declare them secret. */
const SECRET_NAME = /(password|secret|token|apikey|api_key|private)/i;

function field(key: string, path: string[], raw: Json, required: boolean, root: Json): ConfigField {
  const s = unwrap(raw, root);
  const base: FieldBase = { key, path, title: str(s.title), description: str(s.description), required, default: s.default };
  if (Array.isArray(s.enum) && s.enum.every((x) => typeof x === 'string' || typeof x === 'number')) {
    return { ...base, kind: 'enum', options: s.enum as (string | number)[] };
  }
  if ('const' in s && (typeof s.const === 'string' || typeof s.const === 'number')) return { ...base, kind: 'enum', options: [s.const] };
  switch (s.type) {
    case 'string':
      return {
        ...base,
        kind: 'string',
        format: str(s.format),
        minLength: num(s.minLength),
        maxLength: num(s.maxLength),
        pattern: str(s.pattern),
        secretLike: SECRET_NAME.test(key),
        multiline: (num(s.maxLength) ?? 0) > 500,
      };
    case 'number':
    case 'integer':
      return {
        ...base,
        kind: 'number',
        integer: s.type === 'integer',
        minimum: num(s.minimum) ?? (num(s.exclusiveMinimum) !== null ? num(s.exclusiveMinimum)! + (s.type === 'integer' ? 1 : 0) : null),
        maximum: num(s.maximum) ?? (num(s.exclusiveMaximum) !== null ? num(s.exclusiveMaximum)! - (s.type === 'integer' ? 1 : 0) : null),
      };
    case 'boolean':
      return { ...base, kind: 'boolean' };
    case 'array': {
      const items = isObj(s.items) ? unwrap(s.items, root) : {};
      return items.type === 'string' || items.type === undefined ? { ...base, kind: 'list' } : { ...base, kind: 'json' };
    }
    case 'object':
      if (isObj(s.properties)) return { ...base, kind: 'group', fields: fieldsOf(s, path, root) };
      return { ...base, kind: 'json' };
    default:
      return { ...base, kind: 'json' };
  }
}

function fieldsOf(schema: Json, parent: string[], root: Json): ConfigField[] {
  const s = unwrap(schema, root);
  const props = isObj(s.properties) ? s.properties : {};
  const required = new Set(Array.isArray(s.required) ? s.required.filter((x): x is string => typeof x === 'string') : []);
  return Object.entries(props)
    .filter((entry): entry is [string, Json] => isObj(entry[1]))
    .map(([key, sub]) => field(key, [...parent, key], sub, required.has(key), root));
}

/** The fields of a channel kind's settings, in the schema's order. */
export function configFields(schema: Record<string, unknown>): ConfigField[] {
  return fieldsOf(schema, [], schema);
}

/**
 * The values the form starts with: what is stored, else the schema's defaults (so the admin sees what the
 * server would assume), groups filled in recursively.
 */
export function initialConfig(fields: ConfigField[], stored: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const have = stored?.[f.key];
    if (f.kind === 'group') {
      out[f.key] = initialConfig(f.fields, isObj(have) ? have : isObj(f.default) ? f.default : undefined);
    } else if (f.kind === 'json') {
      const v = have ?? f.default;
      out[f.key] = v === undefined ? '' : JSON.stringify(v, null, 2);
    } else if (have !== undefined && have !== null) {
      out[f.key] = have;
    } else if (f.default !== undefined) {
      out[f.key] = f.default;
    }
  }
  return out;
}

/**
 * What the form holds → what the server gets: empty optional inputs are left out (so the schema's
 * default applies) instead of being sent as "" or null; JSON boxes are parsed (a parse error was already
 * reported by the field's own rule). An optional group left entirely empty is left out too.
 */
export function configFromForm(fields: ConfigField[], values: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = values?.[f.key];
    if (f.kind === 'group') {
      const inner = configFromForm(f.fields, isObj(v) ? v : undefined);
      if (Object.keys(inner).length > 0 || f.required) out[f.key] = inner;
      continue;
    }
    if (v === undefined || v === null) continue;
    if (typeof v === 'string' && f.kind !== 'json') {
      const trimmed = v.trim();
      if (trimmed === '') continue;
      out[f.key] = trimmed;
      continue;
    }
    if (f.kind === 'json') {
      if (typeof v !== 'string' || v.trim() === '') continue;
      try {
        out[f.key] = JSON.parse(v);
      } catch {
        out[f.key] = v;
      }
      continue;
    }
    if (f.kind === 'list' && Array.isArray(v)) {
      out[f.key] = v.map((x) => String(x).trim()).filter(Boolean);
      continue;
    }
    out[f.key] = v;
  }
  return out;
}

/** `apiBaseUrl` → "Api base url", `imap_host` → "Imap host": a readable label when the schema has no title. */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
