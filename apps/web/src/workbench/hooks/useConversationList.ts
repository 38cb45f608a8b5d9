import { useCallback, useEffect, useRef, useState } from 'react';
import type { Contact, Conversation, Message } from '@huiliu/contracts';
import { api, qs } from '../../lib/api.ts';
import { useSession } from '../../lib/session.tsx';
import { applyMessage, matchesFilters, mergeConversation, previewOf, sortItems } from '../listModel.ts';
import type { ConversationPage, Filters, ListItem } from '../types.ts';

const PAGE = 50;
/** Refetches in a row caused by events that arrived while a fetch was running; stops a busy loop. */
const MAX_CHAINED_REFRESHES = 3;

export interface Preview {
  text: string;
  private: boolean;
  incoming: boolean;
}

export interface ConversationList {
  items: ListItem[];
  loading: boolean;
  error: string | null;
  hasMore: boolean;
  loadingMore: boolean;
  loadMore: () => void;
  reload: () => void;
  /** Apply a conversation the agent just changed (the live event follows; this avoids waiting for it). */
  applyConversation: (c: Conversation) => void;
  /** A contact was edited (name, tags…): rows show the new state. */
  applyContact: (c: Contact) => void;
  /** The agent has seen everything in this conversation. */
  markSeen: (conversationId: string) => void;
  /** Last message text seen live in this session, per conversation (the list API carries none). */
  previews: ReadonlyMap<string, Preview>;
  /** Best known state of any conversation the list has heard of (for alerts). */
  lookup: (conversationId: string) => ListItem | Conversation | undefined;
}

const isAgentShape = (c: object): c is Conversation => 'inboxId' in c;

/**
 * The conversation list under the current filters, kept live: the chat client's `message` and
 * `conversation` events move rows, count unread and drop rows that no longer match; a conversation the
 * list has not seen yet (new, or changed into the filter) is picked up by refetching the list; after a
 * reconnect the list is fetched again once, so anything missed while offline shows up.
 */
export function useConversationList(filters: Filters, openId: string | null): ConversationList {
  const { chat, user } = useSession();
  const me = user.id;
  const [items, setItems] = useState<ListItem[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [previews, setPreviews] = useState<ReadonlyMap<string, Preview>>(new Map());
  /** The server's last message of each listed conversation (live messages replace it as they come). */
  const seedPreviews = useCallback((items: ConversationPage['items']) => {
    setPreviews((prev) => {
      const next = new Map(prev);
      for (const c of items) {
        if (c.lastMessage?.text) next.set(c.id, { text: c.lastMessage.text, private: c.lastMessage.private, incoming: c.lastMessage.direction === 'incoming' });
      }
      return next;
    });
  }, []);

  // Event handlers are registered once; they read the latest values through refs.
  const filtersRef = useRef(filters);
  filtersRef.current = filters;
  const openRef = useRef(openId);
  openRef.current = openId;
  const itemsRef = useRef(items);
  itemsRef.current = items;
  const cache = useRef(new Map<string, Conversation>());
  const fetchId = useRef(0);
  const inFlight = useRef(false);
  const dirty = useRef(false);
  const chained = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const lookups = useRef(new Set<string>());

  const query = (f: Filters, limit: number, after?: string | null) =>
    `/conversations${qs({ status: f.status, assignee: f.assignee, inboxId: f.inboxId, teamId: f.teamId, tag: f.tag, limit, cursor: after })}`;

  const fetchList = useCallback(
    async (initial: boolean) => {
      const id = ++fetchId.current;
      const f = filtersRef.current;
      inFlight.current = true;
      dirty.current = false;
      if (initial) {
        setLoading(true);
        setItems([]);
        setCursor(null);
        chained.current = 0;
      }
      // A refresh keeps as many rows as the agent has scrolled through (up to the API's page limit).
      const limit = initial ? PAGE : Math.min(200, Math.max(PAGE, itemsRef.current.length));
      try {
        const page = await api<ConversationPage>('GET', query(f, limit));
        if (id !== fetchId.current) return;
        for (const c of page.items) cache.current.set(c.id, c);
        setItems(sortItems(page.items.slice()));
        seedPreviews(page.items);
        setCursor(page.nextCursor);
        setError(null);
      } catch (e) {
        if (id === fetchId.current) setError(e instanceof Error ? e.message : String(e));
      } finally {
        if (id === fetchId.current) {
          setLoading(false);
          inFlight.current = false;
          // Events during the fetch may predate or postdate its answer: look once more to be sure.
          if (dirty.current && chained.current < MAX_CHAINED_REFRESHES) {
            chained.current++;
            scheduleRefresh();
          } else chained.current = 0;
        }
      }
    },
    // Stable on purpose: it reads filters and rows through refs, and `scheduleRefresh` (declared below,
    // itself stable) only runs after the fetch settled.
    [],
  );

  const scheduleRefresh = useCallback(
    (delay = 300) => {
      if (inFlight.current) {
        dirty.current = true;
        return;
      }
      clearTimeout(timer.current);
      timer.current = setTimeout(() => void fetchList(false), delay);
    },
    [fetchList],
  );

  // Filters changed: start over.
  const filterKey = JSON.stringify(filters);
  useEffect(() => {
    clearTimeout(timer.current);
    void fetchList(true);
  }, [filterKey, fetchList]);

  useEffect(() => () => clearTimeout(timer.current), []);

  const applyConversation = useCallback(
    (c: Conversation) => {
      cache.current.set(c.id, c);
      if (inFlight.current) dirty.current = true;
      const matches = matchesFilters(c, filtersRef.current, me);
      const known = itemsRef.current.some((x) => x.id === c.id);
      if (!known) {
        if (matches) scheduleRefresh(); // the row needs its contact and unread count: the list API has both
        return;
      }
      // The open conversation stays in place even when it leaves the filter, so it does not vanish from
      // under the agent who just resolved it; the next fetch drops it.
      const keep = matches || c.id === openRef.current;
      setItems((prev) => (keep ? sortItems(prev.map((x) => (x.id === c.id ? mergeConversation(x, c) : x))) : prev.filter((x) => x.id !== c.id)));
    },
    [me, scheduleRefresh],
  );

  useEffect(() => {
    const onMessage = (m: Message) => {
      if (inFlight.current) dirty.current = true;
      if (m.direction !== 'activity') {
        const text = previewOf(m);
        if (text) setPreviews((prev) => new Map(prev).set(m.conversationId, { text, private: m.private, incoming: m.direction === 'incoming' }));
      }
      const seen = m.conversationId === openRef.current && document.visibilityState === 'visible';
      const unread = m.direction === 'incoming' && !seen;
      if (itemsRef.current.some((x) => x.id === m.conversationId)) {
        setItems((prev) => sortItems(prev.map((x) => (x.id === m.conversationId ? applyMessage(x, m, unread) : x))));
        return;
      }
      const known = cache.current.get(m.conversationId);
      if (known) {
        if (matchesFilters(known, filtersRef.current, me)) scheduleRefresh();
        return;
      }
      // Never heard of it (a brand-new conversation, or one beyond the loaded pages): ask once what it is.
      if (lookups.current.has(m.conversationId)) return;
      lookups.current.add(m.conversationId);
      api<Conversation>('GET', `/conversations/${m.conversationId}`)
        .then((c) => {
          cache.current.set(c.id, c);
          if (matchesFilters(c, filtersRef.current, me)) scheduleRefresh();
        })
        .catch(() => undefined)
        .finally(() => lookups.current.delete(m.conversationId));
    };

    let hadOnline = chat.status === 'online';
    let dropped = false;
    const onStatus = (s: string) => {
      if (s === 'online') {
        if (dropped) scheduleRefresh(0);
        hadOnline = true;
        dropped = false;
      } else if (hadOnline) dropped = true;
    };

    const offs = [
      chat.on('message', onMessage),
      chat.on('conversation', (c) => {
        if (isAgentShape(c)) applyConversation(c);
      }),
      chat.on('status', onStatus),
    ];
    return () => offs.forEach((off) => off());
  }, [chat, me, applyConversation, scheduleRefresh]);

  const loadMore = useCallback(() => {
    if (!cursor || loadingMore) return;
    setLoadingMore(true);
    const id = fetchId.current;
    api<ConversationPage>('GET', query(filtersRef.current, PAGE, cursor))
      .then((page) => {
        if (id !== fetchId.current) return;
        for (const c of page.items) cache.current.set(c.id, c);
        seedPreviews(page.items);
        setItems((prev) => {
          const seen = new Set(prev.map((x) => x.id));
          return sortItems([...prev, ...page.items.filter((x) => !seen.has(x.id))]);
        });
        setCursor(page.nextCursor);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => setLoadingMore(false));
  }, [cursor, loadingMore]);

  // Rows kept only because they were open (resolved or reassigned while the agent looked at them) go
  // once the agent moves on.
  useEffect(() => {
    setItems((prev) => {
      const next = prev.filter((x) => x.id === openId || matchesFilters(x, filtersRef.current, me));
      return next.length === prev.length ? prev : next;
    });
  }, [openId, me]);

  const applyContact = useCallback((contact: Contact) => {
    setItems((prev) => (prev.some((x) => x.contactId === contact.id) ? prev.map((x) => (x.contactId === contact.id ? { ...x, contact } : x)) : prev));
  }, []);

  const markSeen = useCallback((conversationId: string) => {
    setItems((prev) => (prev.some((x) => x.id === conversationId && x.unreadCount > 0) ? prev.map((x) => (x.id === conversationId ? { ...x, unreadCount: 0 } : x)) : prev));
  }, []);

  const lookup = useCallback((conversationId: string) => itemsRef.current.find((x) => x.id === conversationId) ?? cache.current.get(conversationId), []);
  const reload = useCallback(() => scheduleRefresh(0), [scheduleRefresh]);

  return { items, loading, error, hasMore: cursor !== null, loadingMore, loadMore, reload, applyConversation, applyContact, markSeen, previews, lookup };
}
