import { parseDocument } from 'htmlparser2';
import type { ChildNode, Element } from 'domhandler';
import { decodeText, fileProblem, requireText, type ParseResult } from './types.ts';
import { parseMarkdownText } from './markdown.ts';

/**
 * HTML → Markdown, then the Markdown rules (markdown.ts). Scripts, styles, forms and other non-content
 * elements are dropped; headings stay headings (they split articles and give chunks their context);
 * links become [text](href), images ![alt](src) (inline data: images are dropped — they would bloat the
 * answer — keeping the alt text), lists "- ", tables one row per line with " | " between cells, <pre>
 * fenced code. The <title> titles a page without <h1>.
 */
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'iframe', 'object', 'svg', 'canvas', 'form', 'input', 'button', 'select', 'textarea', 'head', 'meta', 'link', 'nav']);
const BLOCK = new Set(['p', 'div', 'section', 'article', 'main', 'header', 'footer', 'aside', 'blockquote', 'figure', 'figcaption', 'table', 'thead', 'tbody', 'ul', 'ol', 'dl', 'dt', 'dd', 'address', 'hr', 'body', 'html']);
const SAFE_URL = /^(https?:|mailto:|tel:|\/|#|\.{0,2}\/?[\w-])/i;

export function parseHtml(bytes: Buffer, fileName: string): ParseResult {
  requireText(bytes, fileName, 'an HTML page');
  const html = decodeText(bytes, fileName);
  if (!/<[a-z!][^>]*>/i.test(html)) throw fileProblem(fileName, 'the file has no HTML tags; upload Markdown or plain text with the .md extension');
  const { markdown, title } = htmlToMarkdown(html);
  return parseMarkdownText(markdown, fileName, title ?? undefined);
}

export function htmlToMarkdown(html: string): { markdown: string; title: string | null } {
  const doc = parseDocument(html, { decodeEntities: true, lowerCaseTags: true });
  let title: string | null = null;
  const titleEl = findFirst(doc.children, 'title');
  if (titleEl) title = textOf(titleEl).trim() || null;
  const out = render(doc.children, { pre: false, list: [] });
  const markdown = out
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/g, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { markdown, title };
}

function findFirst(nodes: ChildNode[], name: string): Element | null {
  for (const n of nodes) {
    if (n.type === 'tag' || n.type === 'script' || n.type === 'style') {
      const el = n as Element;
      if (el.name === name) return el;
      const inner = findFirst(el.children, name);
      if (inner) return inner;
    }
  }
  return null;
}

function textOf(node: ChildNode): string {
  if (node.type === 'text') return node.data;
  if ('children' in node) return (node.children as ChildNode[]).map(textOf).join('');
  return '';
}

interface Ctx {
  pre: boolean;
  list: ('ul' | 'ol')[];
}

function render(nodes: ChildNode[], ctx: Ctx): string {
  let out = '';
  for (const n of nodes) out += renderNode(n, ctx);
  return out;
}

function inline(nodes: ChildNode[], ctx: Ctx): string {
  return render(nodes, ctx).replace(/\s*\n\s*/g, ' ').trim();
}

function renderNode(node: ChildNode, ctx: Ctx): string {
  if (node.type === 'text') return ctx.pre ? node.data : node.data.replace(/\s+/g, ' ');
  if (node.type !== 'tag') return ''; // comments, directives, <script>/<style> (their own node types)
  const el = node as Element;
  const name = el.name;
  if (SKIP.has(name)) return '';
  const h = /^h([1-6])$/.exec(name);
  if (h) {
    const text = inline(el.children, ctx);
    return text ? `\n\n${'#'.repeat(Number(h[1]))} ${text}\n\n` : '';
  }
  switch (name) {
    case 'br':
      return '\n';
    case 'hr':
      return '\n\n';
    case 'a': {
      const text = inline(el.children, ctx);
      const href = (el.attribs.href ?? '').trim();
      if (!href || !SAFE_URL.test(href) || /^javascript:/i.test(href)) return text;
      return text ? `[${text}](${href.replace(/\)/g, '%29').replace(/\s/g, '%20')})` : '';
    }
    case 'img': {
      const alt = (el.attribs.alt ?? '').replace(/[[\]]/g, '').trim();
      const src = (el.attribs.src ?? '').trim();
      if (!src || /^data:/i.test(src) || !SAFE_URL.test(src)) return alt;
      return `![${alt}](${src.replace(/\)/g, '%29').replace(/\s/g, '%20')})`;
    }
    case 'strong':
    case 'b': {
      const t = inline(el.children, ctx);
      return t ? `**${t}**` : '';
    }
    case 'em':
    case 'i': {
      const t = inline(el.children, ctx);
      return t ? `*${t}*` : '';
    }
    case 'code':
      return ctx.pre ? render(el.children, ctx) : `\`${inline(el.children, ctx)}\``;
    case 'pre':
      return `\n\n\`\`\`\n${render(el.children, { ...ctx, pre: true }).replace(/\n+$/, '')}\n\`\`\`\n\n`;
    case 'ul':
    case 'ol':
      return `\n\n${render(el.children, { ...ctx, list: [...ctx.list, name] })}\n\n`;
    case 'li': {
      const indent = '  '.repeat(Math.max(0, ctx.list.length - 1));
      const marker = ctx.list[ctx.list.length - 1] === 'ol' ? '1.' : '-';
      const body = render(el.children, ctx).replace(/\n{2,}/g, '\n').trim();
      return `\n${indent}${marker} ${body.replace(/\n/g, `\n${indent}  `)}`;
    }
    case 'tr': {
      const cells = el.children.filter((c): c is Element => c.type === 'tag' && (c.name === 'td' || c.name === 'th')).map((c) => inline(c.children, ctx));
      return `\n${cells.join(' | ')}`;
    }
    default: {
      const inner = render(el.children, ctx);
      return BLOCK.has(name) ? `\n\n${inner}\n\n` : inner;
    }
  }
}
