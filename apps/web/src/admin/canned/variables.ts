/**
 * The variables the server fills in when an agent inserts a canned response (renderTemplate in
 * packages/core/src/canned/canned.service.ts and the render route). Unknown ones are left as typed.
 */
export const CANNED_VARIABLES = ['contact.name', 'contact.email', 'agent.name', 'conversation.displayId'] as const;

const VARIABLE = /\{\{\s*([a-zA-Z]+\.[a-zA-Z]+)\s*\}\}/g;

/** Splits content into text and variable pieces, so variables can be highlighted (and unknown ones flagged). */
export function tokens(content: string): { text: string; variable?: string; known?: boolean }[] {
  const out: { text: string; variable?: string; known?: boolean }[] = [];
  let last = 0;
  for (const m of content.matchAll(VARIABLE)) {
    if (m.index > last) out.push({ text: content.slice(last, m.index) });
    const name = m[1] ?? '';
    out.push({ text: m[0], variable: name, known: (CANNED_VARIABLES as readonly string[]).includes(name) });
    last = m.index + m[0].length;
  }
  if (last < content.length) out.push({ text: content.slice(last) });
  return out;
}

/** The content with example values, to show the admin what a customer will read. */
export function renderExample(content: string, examples: Record<string, string>): string {
  return content.replace(VARIABLE, (whole, name: string) => examples[name] ?? whole);
}
