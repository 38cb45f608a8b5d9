import type { Conversation, Message } from '@huiliu/contracts';
import type { Filters, ListItem } from './types.ts';

/**
 * Pure rules of the live conversation list, kept apart from React so they read (and could be tested)
 * on their own: which conversation belongs under the current filters, and how an event changes a row.
 */

/** Same rules as the server's list query (conversation.service.ts `list`). */
export function matchesFilters(c: Conversation, f: Filters, me: string): boolean {
  if (f.status !== 'all' && c.status !== f.status) return false;
  if (f.assignee === 'me' && c.assigneeId !== me) return false;
  if (f.assignee === 'unassigned' && c.assigneeId !== null) return false;
  if (f.inboxId && c.inboxId !== f.inboxId) return false;
  if (f.teamId && c.teamId !== f.teamId) return false;
  if (f.tag && !c.tags.includes(f.tag)) return false;
  return true;
}

/** Most recent activity first, like the server (ties broken by id, descending). */
export function sortItems(items: ListItem[]): ListItem[] {
  return items.sort((a, b) => (a.lastActivityAt === b.lastActivityAt ? (a.id < b.id ? 1 : -1) : a.lastActivityAt < b.lastActivityAt ? 1 : -1));
}

/** A conversation.updated event: new state of the conversation, keeping what the event does not carry. */
export function mergeConversation(item: ListItem, c: Conversation): ListItem {
  return { ...item, ...c, contact: item.contact, unreadCount: item.unreadCount };
}

const later = (a: string, b: string) => (a > b ? a : b);

/**
 * A newly stored message. Incoming ones count as unread unless the agent is looking at the conversation
 * right now; the server's count (returned on the next list fetch) stays the source of truth.
 */
export function applyMessage(item: ListItem, m: Message, countsAsUnread: boolean): ListItem {
  return {
    ...item,
    lastSeq: Math.max(item.lastSeq, m.seq),
    lastActivityAt: later(item.lastActivityAt, m.createdAt),
    lastIncomingAt: m.direction === 'incoming' ? later(item.lastIncomingAt ?? m.createdAt, m.createdAt) : item.lastIncomingAt,
    unreadCount: countsAsUnread ? item.unreadCount + 1 : item.unreadCount,
  };
}

/** One line of preview text for a message (attachments by name; HTML is never interpreted, only shown). */
export function previewOf(m: Message): string {
  const text = m.text.replace(/\s+/g, ' ').trim();
  if (text) return text.slice(0, 140);
  if (m.attachments.length) return m.attachments.map((a) => a.fileName).join(', ');
  if (m.location) return m.location.name ?? `${m.location.latitude}, ${m.location.longitude}`;
  if (m.card) return m.card.title;
  return '';
}
