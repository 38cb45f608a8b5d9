import { h, icon } from '../dom.ts';
import { formatBytes, type Translate } from '../i18n.ts';

/**
 * The message list. The controller turns the client core's timeline into `Row`s (plain data, from the
 * visitor's point of view); this module renders them with a keyed diff: a bubble is rebuilt only when its
 * row changed, and the key is the clientId, so the optimistic bubble becomes the stored one in place.
 */

export interface FileView {
  name: string;
  size: number;
  image: boolean;
  url: string | null;
}

export interface Row {
  key: string;
  /** From the visitor's perspective: 'out' = the visitor wrote it, 'in' = an agent or the bot. */
  dir: 'in' | 'out' | 'sys';
  seq: number | null;
  text: string;
  files: FileView[];
  status: 'sending' | 'failed' | 'sent';
  error: string | null;
  /** Shown on the first message of a run from the same agent. */
  sender: { name: string; avatar: string | null } | null;
  /** Starts a run (extra spacing, avatar column). */
  first: boolean;
  /** Ends a run: the time is shown under it. */
  last: boolean;
  /** The newest of the visitor's messages an agent has read. */
  read: boolean;
  time: string;
}

const URL_RE = /https?:\/\/[^\s<>"'\u3000-\u303f\uff01-\uff5e]+/g;

/** Text with web links made clickable; every piece is a text node or an anchor built from text. */
function linkify(text: string): Node[] {
  const out: Node[] = [];
  let at = 0;
  for (const m of text.matchAll(URL_RE)) {
    const url = m[0].replace(/[).,;:!?]+$/, '');
    const start = m.index ?? 0;
    if (start > at) out.push(document.createTextNode(text.slice(at, start)));
    out.push(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer nofollow' }, url));
    at = start + url.length;
  }
  if (at < text.length) out.push(document.createTextNode(text.slice(at)));
  return out;
}

function fileBubble(f: FileView): HTMLElement {
  if (f.image && f.url) {
    return h(
      'div',
      { class: 'bub pic' },
      h('a', { href: f.url, target: '_blank', rel: 'noopener noreferrer' }, h('img', { class: 'img', src: f.url, alt: f.name, loading: 'lazy' })),
    );
  }
  const body = [icon('file', 22), h('span', null, h('b', null, f.name), f.size ? h('small', null, formatBytes(f.size)) : null)];
  return h(
    'div',
    { class: 'bub media' },
    f.url ? h('a', { class: 'fl', href: f.url, target: '_blank', rel: 'noopener noreferrer', download: f.name }, ...body) : h('div', { class: 'fl' }, ...body),
  );
}

function avatar(sender: Row['sender']): HTMLElement {
  if (!sender) return h('span', { class: 'av sp', 'aria-hidden': 'true' });
  if (sender.avatar) return h('img', { class: 'av', src: sender.avatar, alt: '' });
  return h('span', { class: 'av', 'aria-hidden': 'true' }, [...sender.name][0]?.toUpperCase() ?? '?');
}

function bubble(row: Row, t: Translate, onRetry: (key: string) => void): HTMLElement {
  if (row.dir === 'sys') return h('div', { class: 'sys', 'data-testid': 'hl-activity', 'data-seq': row.seq }, row.text);
  const meta: Node[] = [];
  if (row.status === 'sending') meta.push(h('span', null, t('sending')));
  else if (row.status === 'failed') {
    meta.push(
      h('span', { class: 'e', title: row.error ?? '' }, t('failed')),
      h('button', { type: 'button', 'data-testid': 'hl-retry', onclick: () => onRetry(row.key) }, t('retry')),
    );
  } else if (row.last || row.read) meta.push(h('span', null, row.time));
  if (row.read) meta.push(h('span', { 'data-testid': 'hl-read' }, `· ${t('read')}`));
  return h(
    'div',
    {
      class: `row ${row.dir}${row.first ? ' first' : ''}${row.status === 'failed' ? ' failed' : ''}`,
      'data-testid': 'hl-msg',
      'data-direction': row.dir,
      'data-seq': row.seq ?? '',
      'data-status': row.status,
    },
    row.dir === 'in' ? avatar(row.sender) : null,
    h(
      'div',
      { class: 'col' },
      row.sender ? h('div', { class: 'who', 'data-testid': 'hl-agent-name' }, row.sender.name) : null,
      row.text ? h('div', { class: 'bub' }, ...linkify(row.text)) : null,
      ...row.files.map(fileBubble),
      meta.length ? h('div', { class: 'meta' }, ...meta) : null,
    ),
  );
}

export function createMessageList(t: Translate, onRetry: (key: string) => void, onEarlier: () => void) {
  const more = h('button', { type: 'button', class: 'more', hidden: true, onclick: onEarlier }, t('earlier'));
  const greeting = h('div');
  const rowsEl = h('div');
  /** Cards below the messages (leave-your-email). */
  const extra = h('div');
  const el = h(
    'div',
    { class: 'list', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': t('messages'), 'data-testid': 'hl-messages', tabindex: 0 },
    more,
    greeting,
    rowsEl,
    extra,
  );
  const nodes = new Map<string, { sig: string; el: HTMLElement }>();
  const nearBottom = () => el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  const toBottom = () => {
    el.scrollTop = el.scrollHeight;
  };
  // Images change the height after they load: keep the newest message in view if we were at the bottom.
  el.addEventListener('load', () => nearBottom() && toBottom(), true);

  return {
    el,
    greeting,
    extra,
    toBottom,
    setEarlier(visible: boolean) {
      more.hidden = !visible;
    },
    render(rows: Row[]) {
      const stick = nearBottom();
      const firstKey = rowsEl.firstElementChild;
      const heightBefore = el.scrollHeight;
      // The visitor just sent something: follow it even if they had scrolled up.
      const newest = rows[rows.length - 1];
      const ownNew = newest?.dir === 'out' && !nodes.has(newest.key);
      const keep = new Set(rows.map((r) => r.key));
      for (const [key, n] of nodes) {
        if (!keep.has(key)) {
          n.el.remove();
          nodes.delete(key);
        }
      }
      let cursor: ChildNode | null = rowsEl.firstChild;
      for (const row of rows) {
        const sig = JSON.stringify(row);
        let n = nodes.get(row.key);
        if (!n || n.sig !== sig) {
          const fresh = bubble(row, t, onRetry);
          if (n) {
            if (cursor === n.el) cursor = fresh;
            n.el.replaceWith(fresh);
          }
          nodes.set(row.key, (n = { sig, el: fresh }));
        }
        if (n.el === cursor) cursor = cursor.nextSibling;
        else rowsEl.insertBefore(n.el, cursor);
      }
      if (stick || ownNew) toBottom();
      // Older history was inserted above: keep what the visitor was looking at in place.
      else if (firstKey && rowsEl.firstElementChild !== firstKey) el.scrollTop += el.scrollHeight - heightBefore;
    },
  };
}

export type MessageList = ReturnType<typeof createMessageList>;
