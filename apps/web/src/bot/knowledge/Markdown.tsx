import type { ReactNode } from 'react';

/**
 * A small Markdown renderer for knowledge answers, built from React elements only — never
 * dangerouslySetInnerHTML — so raw HTML in an answer shows as text and cannot run script. Covers what FAQ
 * answers use: headings, paragraphs, lists, quotes, code, bold / italic, links and images. URLs are
 * limited to http(s), mailto and same-site paths: `javascript:` and `data:` links render as plain text.
 * (marked is on the server; the console has no Markdown dependency and does not need one for this.)
 */
export function Markdown({ text, testId }: { text: string; testId?: string }) {
  return (
    <div className="bot-md" data-testid={testId} style={{ wordBreak: 'break-word', lineHeight: 1.65 }}>
      {blocks(text)}
    </div>
  );
}

/** A link target people may follow: http(s), mailto, or a path on this site ("/api/v1/attachments/…"). */
export function safeUrl(raw: string, kind: 'link' | 'image'): string | null {
  const url = raw.trim();
  if (/^\/(?!\/)/.test(url)) return url;
  if (/^https?:\/\//i.test(url)) return url;
  if (kind === 'link' && /^mailto:[^\s]+$/i.test(url)) return url;
  return null;
}

function blocks(source: string): ReactNode[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: ReactNode[] = [];
  let i = 0;
  const key = () => `b${out.length}`;
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.trim()) {
      i++;
      continue;
    }
    const fence = /^\s*```/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !/^\s*```/.test(lines[i]!)) body.push(lines[i++]!);
      i++;
      out.push(
        <pre key={key()} style={{ background: '#f5f5f5', padding: '8px 12px', borderRadius: 6, overflowX: 'auto', fontSize: 12.5 }}>
          <code>{body.join('\n')}</code>
        </pre>,
      );
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = Math.min(heading[1]!.length + 2, 6); // # → h3: answers live inside a page that has its own title
      const Tag = `h${level}` as 'h3';
      out.push(<Tag key={key()} style={{ margin: '12px 0 6px' }}>{inline(heading[2]!)}</Tag>);
      i++;
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i]!)) body.push(lines[i++]!.replace(/^\s*>\s?/, ''));
      out.push(
        <blockquote key={key()} style={{ margin: '8px 0', padding: '2px 12px', borderInlineStart: '3px solid #d9d9d9', color: 'rgba(0,0,0,.65)' }}>
          {blocks(body.join('\n'))}
        </blockquote>,
      );
      continue;
    }
    const bullet = /^\s*([-*+]|\d+[.)])\s+/;
    if (bullet.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items: string[] = [];
      // A numbered list right after a bulleted one (or the reverse) starts a new list.
      while (i < lines.length && bullet.test(lines[i]!) && /^\s*\d/.test(lines[i]!) === ordered) {
        let item = lines[i++]!.replace(bullet, '');
        // Continuation lines (indented, not a new item) belong to the item.
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]!) && !bullet.test(lines[i]!)) item += ' ' + lines[i++]!.trim();
        items.push(item);
      }
      const List = ordered ? 'ol' : 'ul';
      out.push(
        <List key={key()} style={{ margin: '6px 0', paddingInlineStart: 22 }}>
          {items.map((it, n) => (
            <li key={n}>{inline(it)}</li>
          ))}
        </List>,
      );
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push(<hr key={key()} style={{ border: 0, borderTop: '1px solid #f0f0f0' }} />);
      i++;
      continue;
    }
    // A paragraph: consecutive non-blank lines that start nothing else; single line breaks are kept.
    const para: string[] = [];
    while (i < lines.length && lines[i]!.trim() && !/^(#{1,6}\s|\s*```|\s*>|\s*([-*+]|\d+[.)])\s+)/.test(lines[i]!)) para.push(lines[i++]!);
    if (para.length === 0) para.push(lines[i++]!);
    out.push(
      <p key={key()} style={{ margin: '0 0 8px' }}>
        {para.map((p, n) => (
          <span key={n}>
            {n > 0 && <br />}
            {inline(p)}
          </span>
        ))}
      </p>,
    );
  }
  return out;
}

// One pass over the line: the earliest match of any inline form wins, the text before it stays text.
const INLINE = /(`[^`]+`)|(!\[[^\]]*\]\([^)\s]+(?:\s+"[^"]*")?\))|(\[[^\]]+\]\([^)\s]+(?:\s+"[^"]*")?\))|(\*\*[^*]+\*\*|__[^_]+__)|(\*[^*\s][^*]*\*|(?<![A-Za-z0-9])_[^_\s][^_]*_(?![A-Za-z0-9]))|(https?:\/\/[^\s<>()（）]+[^\s<>()（）.,;:!?。，；：！？'"])/;

function inline(text: string, depth = 0): ReactNode[] {
  const out: ReactNode[] = [];
  let rest = text;
  let n = 0;
  while (rest) {
    const m = depth > 3 ? null : INLINE.exec(rest);
    if (!m) {
      out.push(rest);
      break;
    }
    if (m.index > 0) out.push(rest.slice(0, m.index));
    const token = m[0];
    const k = `i${n++}`;
    if (m[1]) out.push(<code key={k} style={{ background: '#f5f5f5', padding: '0 4px', borderRadius: 4 }}>{token.slice(1, -1)}</code>);
    else if (m[2]) {
      const parts = /^!\[([^\]]*)\]\(([^)\s]+)/.exec(token)!;
      const src = safeUrl(parts[2]!, 'image');
      out.push(src ? <img key={k} src={src} alt={parts[1]} referrerPolicy="no-referrer" loading="lazy" style={{ maxWidth: '100%', borderRadius: 4, verticalAlign: 'middle' }} /> : token);
    } else if (m[3]) {
      const parts = /^\[([^\]]+)\]\(([^)\s]+)/.exec(token)!;
      const href = safeUrl(parts[2]!, 'link');
      out.push(href ? <a key={k} href={href} target="_blank" rel="noopener noreferrer nofollow">{inline(parts[1]!, depth + 1)}</a> : parts[1]);
    } else if (m[4]) out.push(<strong key={k}>{inline(token.slice(2, -2), depth + 1)}</strong>);
    else if (m[5]) out.push(<em key={k}>{inline(token.slice(1, -1), depth + 1)}</em>);
    else if (m[6]) out.push(<a key={k} href={token} target="_blank" rel="noopener noreferrer nofollow">{token}</a>);
    rest = rest.slice(m.index + token.length);
  }
  return out;
}
