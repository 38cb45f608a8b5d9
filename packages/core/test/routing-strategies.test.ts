import { describe, expect, it } from 'vitest';
import {
  STRATEGIES, compareQueued, eligibleCandidates, leastBusy, leastRecentlyRouted, manual, roundRobin, sticky,
  type RoutingCandidate, type RoutingConversation,
} from '../src/routing/strategies.ts';

const conv = (o: Partial<RoutingConversation> = {}): RoutingConversation => ({
  id: 'c1', contactId: 'k1', inboxId: 'i1', channelType: 'web', teamId: null, priority: 'none', requiredSkills: {}, ...o,
});
const agent = (userId: string, o: Partial<RoutingCandidate> = {}): RoutingCandidate => ({
  userId, name: userId, load: 0, capacity: 5, channelCapacities: {}, channelLoad: 0, recentAssignments: 0, lastRoutedAt: null, skills: {}, ...o,
});
const ctx = { now: 0 };

describe('eligibleCandidates', () => {
  it('drops agents at capacity, at their channel cap, or without the required skill levels', () => {
    const pool = [
      agent('full', { load: 5 }),
      agent('chanfull', { channelCapacities: { web: 1 }, channelLoad: 1 }),
      agent('lowskill', { skills: { refund: 2 } }),
      agent('ok', { skills: { refund: 3, english: 1 } }),
      agent('nolang', { skills: { refund: 5 } }),
    ];
    expect(eligibleCandidates(pool, conv({ requiredSkills: { refund: 3 } })).map((a) => a.userId)).toEqual(['ok', 'nolang']);
    expect(eligibleCandidates(pool, conv({ requiredSkills: { refund: 3, english: 1 } })).map((a) => a.userId)).toEqual(['ok']);
    expect(eligibleCandidates(pool, conv({ channelType: 'email' })).map((a) => a.userId)).toContain('chanfull');
  });
});

describe('least busy', () => {
  it('picks the lowest load ratio, then fewest recent assignments, then longest since routed', () => {
    expect(leastBusy.pickAgent([agent('a', { load: 2, capacity: 4 }), agent('b', { load: 2, capacity: 10 })], conv(), ctx)!.agent.userId).toBe('b');
    expect(leastBusy.pickAgent([agent('a', { recentAssignments: 3 }), agent('b', { recentAssignments: 1 })], conv(), ctx)!.agent.userId).toBe('b');
    expect(leastBusy.pickAgent([agent('a', { lastRoutedAt: 200 }), agent('b', { lastRoutedAt: 100 })], conv(), ctx)!.agent.userId).toBe('b');
    const pick = leastBusy.pickAgent([agent('a', { load: 1, capacity: 4 })], conv(), ctx)!;
    expect(pick.reason).toMatchObject({ strategy: 'least_busy', load: 1, capacity: 4, loadRatio: 0.25, candidates: 1 });
    expect(leastBusy.pickAgent([], conv(), ctx)).toBeNull();
  });

  it('spreads a stream of conversations evenly over equal agents (simulated assignments)', () => {
    const pool = ['a', 'b', 'c', 'd'].map((id) => agent(id, { capacity: 100 }));
    for (let i = 0; i < 200; i++) {
      const p = leastBusy.pickAgent(eligibleCandidates(pool, conv()), conv(), ctx)!;
      p.agent.load++;
      p.agent.recentAssignments++;
      p.agent.lastRoutedAt = i;
    }
    expect(pool.map((a) => a.load)).toEqual([50, 50, 50, 50]);
  });
});

describe('round robin', () => {
  it('takes the next agent after the cursor in id order and wraps around', () => {
    const pool = [agent('c'), agent('a'), agent('b')];
    expect(roundRobin.pickAgent(pool, conv(), { now: 0, roundRobinAfter: null })!.agent.userId).toBe('a');
    expect(roundRobin.pickAgent(pool, conv(), { now: 0, roundRobinAfter: 'a' })!.agent.userId).toBe('b');
    expect(roundRobin.pickAgent(pool, conv(), { now: 0, roundRobinAfter: 'c' })!.agent.userId).toBe('a');
    // The cursor's agent left the pool: the next one after it still comes next.
    expect(roundRobin.pickAgent([agent('a'), agent('c')], conv(), { now: 0, roundRobinAfter: 'b' })!.agent.userId).toBe('c');
  });
});

describe('least recently routed', () => {
  it('prefers never-routed agents, then the oldest routing', () => {
    expect(leastRecentlyRouted.pickAgent([agent('a', { lastRoutedAt: 5 }), agent('b')], conv(), ctx)!.agent.userId).toBe('b');
    expect(leastRecentlyRouted.pickAgent([agent('a', { lastRoutedAt: 5 }), agent('b', { lastRoutedAt: 3 })], conv(), ctx)!.agent.userId).toBe('b');
  });
});

describe('sticky', () => {
  it("picks the contact's previous agent when eligible, else falls back to least busy and says so", () => {
    const pool = [agent('a', { load: 3 }), agent('b', { load: 0 })];
    const p1 = sticky.pickAgent(pool, conv(), { now: 0, stickyAgentId: 'a' })!;
    expect(p1.agent.userId).toBe('a');
    expect(p1.reason).toMatchObject({ strategy: 'sticky', previousAgentId: 'a' });
    const p2 = sticky.pickAgent(pool, conv(), { now: 0, stickyAgentId: 'gone' })!;
    expect(p2.agent.userId).toBe('b');
    expect(p2.reason).toMatchObject({ strategy: 'sticky', fallback: 'least_busy', previousAvailable: false });
  });
});

describe('manual and the registry', () => {
  it('manual never picks; every strategy is registered under its name', () => {
    expect(manual.pickAgent([agent('a')], conv(), ctx)).toBeNull();
    for (const [name, s] of Object.entries(STRATEGIES)) expect(s.name).toBe(name);
  });
});

describe('queue order', () => {
  it('serves higher priority first, then the longest waiting', () => {
    const q = [
      { id: 'low-old', priority: 'low' as const, queuedAt: 1 },
      { id: 'urgent-new', priority: 'urgent' as const, queuedAt: 9 },
      { id: 'none-oldest', priority: 'none' as const, queuedAt: 0 },
      { id: 'urgent-old', priority: 'urgent' as const, queuedAt: 2 },
      { id: 'high', priority: 'high' as const, queuedAt: 5 },
    ];
    expect([...q].sort(compareQueued).map((x) => x.id)).toEqual(['urgent-old', 'urgent-new', 'high', 'low-old', 'none-oldest']);
  });
});
