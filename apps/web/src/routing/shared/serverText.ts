import type { Translate } from '../../lib/i18n.tsx';
import type { Issue } from './issues.ts';

/**
 * The server and the contract explain problems in English sentences (no message codes exist for field
 * issues). The ones an admin meets on these pages are recognised here and said again in the console's
 * language; anything not recognised is shown as the server wrote it, so nothing is ever hidden.
 */
const PATTERNS: [RegExp, string, (m: RegExpExecArray) => Record<string, string | number>][] = [
  [/^the shift (\S+) overlaps the shift (\S+) \(index \d+\) on the same day$/, 'routing.err.overlap', (m) => ({ a: m[1]!, b: m[2]! })],
  [/^the shift ends \((\S+)\) at or before it starts \((\S+)\)/, 'routing.err.shiftOrder', (m) => ({ end: m[1]!, start: m[2]! })],
  [/^the holiday ends \((\S+)\) before it starts \((\S+)\)$/, 'routing.err.holidayOrder', (m) => ({ until: m[1]!, date: m[2]! })],
  [/^a holiday spans at most (\d+) days$/, 'routing.err.holidayLong', (m) => ({ n: m[1]! })],
  [/^duplicate holiday: (\S+) is already covered by holidays\.(\d+)$/, 'routing.err.holidayDuplicate', (m) => ({ date: m[1]!, n: Number(m[2]) + 1 })],
  [/^duplicate special day: (\S+) is already specialDays\.(\d+)$/, 'routing.err.specialDuplicate', (m) => ({ date: m[1]!, n: Number(m[2]) + 1 })],
  [/^(\S+) is both a special opening day and a holiday/, 'routing.err.specialHoliday', (m) => ({ date: m[1]! })],
  [/^a special day needs at least one shift/, 'routing.err.specialNoShift', () => ({})],
  [/^a schedule with this name already exists/, 'routing.err.scheduleName', () => ({})],
  [/^an IANA time zone such as/, 'routing.err.timeZone', () => ({})],
  [/^a time as HH:MM/, 'routing.err.clock', () => ({})],
  [/^a calendar date as YYYY-MM-DD/, 'routing.err.date', () => ({})],
  [/^no team (\S+) in this workspace$/, 'routing.err.noTeam', (m) => ({ id: m[1]! })],
  [/^team (\S+) does not exist in this workspace$/, 'routing.err.noTeam', (m) => ({ id: m[1]! })],
  [/^no active agent (\S+) in this workspace$/, 'routing.err.noAgent', (m) => ({ id: m[1]! })],
  [/^no agent skill named "(.+)" in this workspace/, 'routing.err.noSkill', (m) => ({ skill: m[1]! })],
  [/^no inbox (\S+) in this workspace$/, 'routing.err.noInbox', (m) => ({ id: m[1]! })],
  [/^no business-hours schedule (\S+) in this workspace$/, 'routing.err.noSchedule', (m) => ({ id: m[1]! })],
  [/^a rule has at most one routing action/, 'routing.err.oneRoute', () => ({})],
  [/^a rule has at most one (\w+) action/, 'routing.err.oneAction', (m) => ({ kind: m[1]! })],
  [/^the skill "(.+)" is listed twice$/, 'routing.err.skillTwice', (m) => ({ skill: m[1]! })],
  [/^an empty condition group/, 'routing.err.emptyGroup', () => ({})],
  [/^a rule needs at least one action$/, 'routing.err.noAction', () => ({})],
  [/^duplicate rule id "(.+)"/, 'routing.err.duplicateId', (m) => ({ id: m[1]! })],
  [/^the window is empty or the whole day/, 'routing.err.window', () => ({})],
  [/^contradicts \S+ on attribute "(.+)": (.+); the rule could never match$/, 'routing.err.contradiction', (m) => ({ key: m[1]!, why: m[2]! })],
  [/^letters, digits and _ \. : -/, 'routing.err.ruleId', () => ({})],
  [/^a skill name: letters, digits/, 'routing.agents.skillName', () => ({})],
  [/^capacity must be (greater than 0|a whole number)/, 'routing.agents.capacityMin', () => ({})],
  [/^capacity is at most (\d+)$/, 'routing.agents.capacityMax', (m) => ({ max: m[1]! })],
  [/^skill levels go from 1 to 10$/, 'routing.agents.levelRange', () => ({})],
  [/^the overflow team must be another team/, 'routing.err.overflowSelf', () => ({})],
  [/^name the team to move waiting conversations to/, 'routing.teams.overflowTeamRequired', () => ({})],
  [/^a queue timeout needs an overflow action/, 'routing.err.overflowNeeded', () => ({})],
  [/^queueTimeoutSeconds is (at least 10|at most 86400)/, 'routing.teams.timeoutMin', () => ({})],
  [/^stickyMinutes must be at least 1/, 'routing.teams.stickyMin', () => ({})],
];

export function localizeMessage(message: string, t: Translate): string {
  for (const [re, key, vars] of PATTERNS) {
    const m = re.exec(message);
    if (m) return t(key, vars(m));
  }
  return message;
}

export const localizeIssues = (issues: Issue[], t: Translate): Issue[] => issues.map((i) => ({ ...i, message: localizeMessage(i.message, t) }));

/**
 * An "unreachable rule" warning in the console's words, naming the earlier rule by its position in the list
 * (the server names it by path, `body.rules.2`).
 */
export function unreachableText(message: string, t: Translate): string {
  const m = /the earlier rule "(.*)" \((.*), (?:body\.)?rules\.(\d+)\) (has no conditions|matches every conversation this rule matches)/.exec(message);
  if (!m) return message;
  return t(m[4] === 'has no conditions' ? 'routing.rules.unreachableAll' : 'routing.rules.unreachableSubset', { name: m[1]!, n: Number(m[3]) + 1 });
}
