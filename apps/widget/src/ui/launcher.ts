import { h, icon } from '../dom.ts';
import type { Translate } from '../i18n.ts';

/** The round button in the page corner: opens/closes the panel and carries the unread badge. */
export function createLauncher(t: Translate, onClick: () => void) {
  const badge = h('span', { class: 'badge', hidden: true, 'aria-hidden': 'true', 'data-testid': 'hl-unread' });
  const chat = icon('chat', 26);
  const close = icon('close', 26);
  const el = h('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'data-testid': 'hl-launcher', onclick: onClick }, chat, close, badge);
  let open = false;
  let unread = 0;
  const label = () => el.setAttribute('aria-label', open ? t('close') : unread ? t('openUnread', { n: unread }) : t('open'));
  return {
    el,
    set(isOpen: boolean, count: number) {
      open = isOpen;
      unread = count;
      el.setAttribute('aria-expanded', String(open));
      chat.style.display = open ? 'none' : '';
      close.style.display = open ? '' : 'none';
      badge.hidden = open || count === 0;
      badge.textContent = count > 99 ? '99+' : String(count);
      label();
    },
  };
}
