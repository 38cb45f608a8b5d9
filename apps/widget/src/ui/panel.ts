import type { WidgetConfig } from '../api.ts';
import { h, icon, show } from '../dom.ts';
import type { Translate } from '../i18n.ts';
import { textOn } from '../styles.ts';
import { createComposer, type ComposerActions } from './composer.ts';
import { createLauncher } from './launcher.ts';
import { createMessageList, type Row } from './messages.ts';

export interface ViewActions extends ComposerActions {
  toggle(): void;
  close(): void;
  retry(key: string): void;
  earlier(): void;
  cancelUpload(): void;
}

export type ConnectionLabel = 'idle' | 'online' | 'connecting' | 'offline';

/**
 * Builds the whole widget DOM for one locale and returns setters. It holds no chat state: the controller
 * owns it and re-applies everything after a rebuild (which is how a locale switch works — cheaper in code
 * than making every label reactive).
 */
export function createView(cfg: WidgetConfig, t: Translate, a: ViewActions) {
  const color = /^#[0-9a-f]{6}$/i.test(cfg.widget.color) ? cfg.widget.color : '#1677ff';
  const launcher = createLauncher(t, a.toggle);
  const status = h('div', { class: 'sub', 'data-testid': 'hl-status' });
  const queue = h('div', { class: 'queue', role: 'status', hidden: true, 'data-testid': 'hl-queue' });
  const list = createMessageList(t, a.retry, a.earlier);
  const typing = h('div', { class: 'typing', 'aria-live': 'polite', hidden: true, 'data-testid': 'hl-typing' });
  const errorText = h('span', { 'data-testid': 'hl-error' });
  const alert = h(
    'div',
    { class: 'alert', role: 'alert', hidden: true },
    errorText,
    h('button', { type: 'button', class: 'ib', 'aria-label': t('dismiss'), title: t('dismiss'), onclick: () => show(alert, false) }, icon('close', 16)),
  );
  const progName = h('span');
  const progFill = h('i');
  const progBar = h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100 }, progFill);
  const progress = h(
    'div',
    { class: 'prog', hidden: true, 'data-testid': 'hl-progress' },
    progName,
    progBar,
    h('button', { type: 'button', class: 'ib tool', 'aria-label': t('cancelUpload'), title: t('cancelUpload'), onclick: a.cancelUpload }, icon('close', 16)),
  );
  const composer = createComposer(t, a);
  composer.setAccept(cfg.uploads?.contentTypes);
  const initial = [...cfg.name.trim()][0] ?? 'H';

  list.greeting.append(
    h(
      'div',
      { class: 'row in first', 'data-testid': 'hl-greeting' },
      h('span', { class: 'av', 'aria-hidden': 'true' }, initial),
      h('div', { class: 'col' }, h('div', { class: 'bub' }, cfg.widget.greeting.trim() || t('greeting'))),
    ),
  );

  const panel = h(
    'div',
    { class: 'panel', role: 'dialog', 'aria-label': t('dialog', { name: cfg.name }), hidden: true, 'data-testid': 'hl-panel' },
    h(
      'div',
      { class: 'head' },
      h('div', { class: 'logo', 'aria-hidden': 'true' }, initial),
      h('div', { class: 'ht' }, h('div', { class: 'title' }, cfg.name), status),
      h('button', { type: 'button', class: 'ib', 'aria-label': t('close'), title: t('close'), onclick: a.close }, icon('close')),
    ),
    queue,
    list.el,
    typing,
    alert,
    progress,
    composer.el,
    h('div', { class: 'foot' }, t('poweredBy')),
  );

  // Keyboard: Esc closes (the emoji picker first), Tab cycles inside the panel while it is open.
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      if (!composer.closePicker()) a.close();
      return;
    }
    if (e.key !== 'Tab') return;
    const focusable = [...panel.querySelectorAll<HTMLElement>('button,textarea,input,a[href],[tabindex="0"]')].filter(
      (el) => el.tabIndex >= 0 && !(el as HTMLButtonElement).disabled && el.getClientRects().length > 0,
    );
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = (panel.getRootNode() as ShadowRoot).activeElement;
    if (e.shiftKey && (active === first || !panel.contains(active))) {
      last?.focus();
      e.preventDefault();
    } else if (!e.shiftKey && active === last) {
      first?.focus();
      e.preventDefault();
    }
  });

  const root = h('div', { class: `r${cfg.widget.position === 'left' ? ' left' : ''}`, style: `--c:${color};--ct:${textOn(color)}` }, panel, launcher.el);
  let extraKind = '';

  return {
    root,
    list,
    composer,
    launcher: launcher.el,
    setOpen(open: boolean, unread: number) {
      show(panel, open);
      root.classList.toggle('open', open);
      launcher.set(open, unread);
    },
    setStatus(s: ConnectionLabel) {
      status.textContent = t(s === 'connecting' ? 'connecting' : s === 'offline' ? 'offline' : 'replyTime');
    },
    setQueue(position: number | null, seconds: number | null) {
      show(queue, position !== null);
      if (position === null) return;
      const m = Math.ceil((seconds ?? 0) / 60);
      queue.textContent = m < 1 ? t('queueSoon', { n: position }) : t('queue', { n: position, m });
    },
    setTyping(name: string | null) {
      show(typing, name !== null);
      typing.replaceChildren(t('typing', { name: name ?? '' }), h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')));
    },
    setError(message: string | null) {
      show(alert, message !== null);
      errorText.textContent = message ?? '';
    },
    setProgress(p: { name: string; fraction: number } | null) {
      show(progress, p !== null);
      if (!p) return;
      const pct = Math.round(p.fraction * 100);
      progName.textContent = t('uploading', { name: p.name });
      progFill.style.width = `${pct}%`;
      progBar.setAttribute('aria-valuenow', String(pct));
      progress.setAttribute('data-progress', String(pct));
    },
    /** The pre-chat form replaces the composer; the leave-email card sits under the messages. */
    setExtra(kind: string, build: () => HTMLElement | null, composerVisible = true) {
      show(composer.el, composerVisible);
      if (kind === extraKind) return;
      extraKind = kind;
      const el = build();
      list.extra.replaceChildren(...(el ? [el] : []));
      if (el) list.toBottom();
    },
    render(rows: Row[]) {
      list.render(rows);
    },
    /** Focus into the panel: the first field of a form, else the message input. */
    focus() {
      const field = list.extra.querySelector<HTMLElement>('input');
      (composer.el.hidden ? field : composer.input)?.focus();
    },
  };
}

export type View = ReturnType<typeof createView>;
