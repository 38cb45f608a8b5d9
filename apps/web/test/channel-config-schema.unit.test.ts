/**
 * The console draws a channel's settings form from the JSON Schema the server generates with
 * z.toJSONSchema. These cases feed real zod output through it: nested groups, defaults, required marks,
 * enums from unions of literals, nullable values, and the way back (empty inputs left out).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configFields, configFromForm, humanize, initialConfig } from '../src/admin/channels/configSchema.ts';

const Email = z.object({
  fromName: z.string().max(100).optional().describe('Shown as the sender'),
  imap: z.object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(993),
    secure: z.boolean().default(true),
    user: z.string(),
  }),
  smtp: z.object({ host: z.string(), port: z.number().int().optional() }).optional(),
  mode: z.union([z.literal('idle'), z.literal('poll')]).default('idle'),
  limit: z.number().nullable().optional(),
  aliases: z.array(z.string()).default([]),
  routing: z.record(z.string(), z.number()).optional(),
});
const schema = z.toJSONSchema(Email) as Record<string, unknown>;

describe('channel settings from JSON Schema', () => {
  const fields = configFields(schema);
  const byKey = (k: string) => fields.find((f) => f.key === k)!;

  it('turns every property into a field of the right kind, nested objects into groups', () => {
    expect(fields.map((f) => [f.key, f.kind])).toEqual([
      ['fromName', 'string'], ['imap', 'group'], ['smtp', 'group'], ['mode', 'enum'], ['limit', 'number'], ['aliases', 'list'], ['routing', 'json'],
    ]);
    const imap = byKey('imap');
    if (imap.kind !== 'group') throw new Error('imap is a group');
    expect(imap.fields.map((f) => [f.path.join('.'), f.kind, f.required, f.default])).toEqual([
      ['imap.host', 'string', true, undefined],
      ['imap.port', 'number', true, 993],
      ['imap.secure', 'boolean', true, true],
      ['imap.user', 'string', true, undefined],
    ]);
    const port = imap.fields[1]!;
    expect(port.kind === 'number' && [port.integer, port.minimum, port.maximum]).toEqual([true, 1, 65535]);
    expect(byKey('fromName')).toMatchObject({ required: false, description: 'Shown as the sender' });
    expect(byKey('mode')).toMatchObject({ kind: 'enum', options: ['idle', 'poll'] });
    expect(byKey('smtp').required).toBe(false);
  });

  it('starts from the stored values, else the defaults', () => {
    expect(initialConfig(fields, { imap: { host: 'imap.example.com', user: 'help' }, routing: { a: 1 } })).toEqual({
      imap: { host: 'imap.example.com', port: 993, secure: true, user: 'help' },
      smtp: {},
      mode: 'idle',
      aliases: [],
      routing: '{\n  "a": 1\n}',
    });
  });

  it('sends back only what was filled in; the result passes the adapter schema', () => {
    const values = {
      fromName: '  ',
      imap: { host: ' imap.example.com ', port: 143, secure: false, user: 'help' },
      smtp: { host: '', port: null },
      mode: 'poll',
      limit: null,
      aliases: ['a@example.com', ' '],
      routing: '{"x": 2}',
    };
    const config = configFromForm(fields, values);
    expect(config).toEqual({ imap: { host: 'imap.example.com', port: 143, secure: false, user: 'help' }, mode: 'poll', aliases: ['a@example.com'], routing: { x: 2 } });
    expect(Email.safeParse(config).success).toBe(true);
  });

  it('resolves $ref definitions', () => {
    const Server = z.object({ host: z.string(), port: z.number().int() });
    const s = z.toJSONSchema(z.object({ imap: Server, smtp: Server }), { reused: 'ref' }) as Record<string, unknown>;
    const f = configFields(s);
    expect(f.map((x) => x.kind)).toEqual(['group', 'group']);
    expect(f[1]!.kind === 'group' && f[1]!.fields.map((x) => x.path.join('.'))).toEqual(['smtp.host', 'smtp.port']);
  });

  it('makes keys readable when the schema has no title', () => {
    expect(humanize('apiBaseUrl')).toBe('Api base url');
    expect(humanize('phone_number_id')).toBe('Phone number id');
  });
});
