import { useCallback, useEffect, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import type { Contact, Conversation } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { loadAlertSettings, playChime, saveAlertSettings, showDesktopNotification, type AlertSettings } from '../../lib/notify.ts';
import { useSession } from '../../lib/session.tsx';
import { previewOf } from '../listModel.ts';
import type { ListItem } from '../types.ts';

/** A burst (replay after a reconnect, a customer pasting lines) chimes once. */
const CHIME_GAP_MS = 1_500;

export function useAlertSettings(): [AlertSettings, (s: AlertSettings) => void] {
  const [settings, setSettings] = useState<AlertSettings>(loadAlertSettings);
  const update = useCallback((s: AlertSettings) => {
    saveAlertSettings(s);
    setSettings(s);
  }, []);
  return [settings, update];
}

/**
 * Sound and desktop notification for a customer's new message when the agent is not looking at it: the
 * tab is hidden, or the message belongs to another conversation. Conversations assigned to someone else
 * stay quiet (a supervisor who sees every inbox would otherwise hear the whole floor).
 */
export function useAlerts(openId: string | null, settings: AlertSettings, lookup: (id: string) => ListItem | Conversation | undefined): void {
  const { chat, user } = useSession();
  const { t } = useI18n();
  const navigate = useNavigate();
  const latest = useRef({ openId, settings, lookup, t, navigate });
  latest.current = { openId, settings, lookup, t, navigate };
  const lastChime = useRef(0);

  useEffect(
    () =>
      chat.on('message', (m) => {
        if (m.direction !== 'incoming' || m.private) return;
        const { openId: open, settings: s, lookup: find, t: tr, navigate: go } = latest.current;
        const hidden = document.visibilityState !== 'visible';
        if (!hidden && m.conversationId === open) return;
        const c = find(m.conversationId);
        if (c?.assigneeId && c.assigneeId !== user.id) return;
        if (s.sound && Date.now() - lastChime.current > CHIME_GAP_MS) {
          lastChime.current = Date.now();
          playChime();
        }
        if (!s.desktop) return;
        const notify = (name: string | null) => {
          const title = c ? tr('alert.title', { name: name ?? tr('contact.anonymous'), id: c.displayId }) : tr('alert.titleUnknown');
          showDesktopNotification(title, previewOf(m) || tr('alert.attachment'), `huiliu-${m.conversationId}`, () => void go(`/conversations/${m.conversationId}`));
        };
        if (!c || 'contact' in c) return notify(c?.contact.name ?? null);
        // A conversation the list has not loaded yet (typically a brand-new one): name the customer anyway.
        api<Contact>('GET', `/contacts/${c.contactId}`).then(
          (contact) => notify(contact.name),
          () => notify(null),
        );
      }),
    [chat, user.id],
  );
}
