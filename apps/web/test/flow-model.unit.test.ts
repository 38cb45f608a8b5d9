/**
 * The flow editor's pure helpers: renaming a step rewires every reference, deleting one leaves its
 * references visibly unchosen, adding a step after another wires the chain, the canvas order follows the
 * transitions, and issue paths find their step. Every document built here is checked against the contract.
 */
import { describe, expect, it } from 'vitest';
import { FlowDocument } from '@huiliu/contracts/bot';
import { STEP_TYPES, blankDocument, insertStep, layoutOrder, newStep, orderTemplate, removeStep, renameStep, sameDocument, stepOfIssue } from '../src/bot/flows/flowModel.ts';

describe('flow model', () => {
  it('the order template and every new step type hold the contract shape (new transitions may still be unchosen)', () => {
    expect(FlowDocument.safeParse(orderTemplate(true, true)).success).toBe(true);
    expect(FlowDocument.safeParse(orderTemplate(false, false)).success).toBe(true);
    for (const type of STEP_TYPES) {
      const step = newStep(type, `s_${type}`);
      const wired = JSON.parse(JSON.stringify(step).replaceAll('""', '"end"')) as typeof step;
      const doc = { triggers: { intents: [], phrases: ['x'] }, start: step.id, steps: [wired, { id: 'end', type: 'end' }] };
      const r = FlowDocument.safeParse(doc);
      expect(r.success, `${type}: ${JSON.stringify(r.error?.issues)}`).toBe(true);
    }
  });

  it('renaming a step updates the start and every transition that points at it', () => {
    const doc = orderTemplate(true, false);
    const renamed = renameStep(doc, 'not_shipped', 'pending')!;
    const branch = renamed.steps.find((s) => s.id === 'is_shipped');
    expect(branch).toMatchObject({ otherwise: 'pending' });
    expect(renamed.steps.map((s) => s.id)).toContain('pending');
    expect(renameStep(doc, 'ask_order', 'start_here')!.start).toBe('start_here');
    expect(renameStep(doc, 'lookup', 'api_down')).toBeNull(); // taken
    expect(renameStep(doc, 'lookup', 'bad id')).toBeNull(); // invalid
    expect(FlowDocument.safeParse(renamed).success).toBe(true);
  });

  it('deleting a step leaves its references unchosen, ends a message there, and drops optional error routes', () => {
    const doc = orderTemplate(true, false);
    const noApiDown = removeStep(doc, 'api_down');
    expect(noApiDown.steps.find((s) => s.id === 'lookup')).not.toHaveProperty('onError');
    const noBranch = removeStep(doc, 'is_shipped');
    expect(noBranch.steps.find((s) => s.id === 'answer')).toMatchObject({ next: null });
    const noLookup = removeStep(doc, 'lookup');
    expect(noLookup.steps.find((s) => s.id === 'ask_order')).toMatchObject({ next: '' });
    const noStart = removeStep(doc, 'ask_order');
    expect(noStart.start).toBe('lookup');
  });

  it('adding a step after a linear one wires it into the chain', () => {
    const blank = blankDocument();
    const a = insertStep(blank, 'ask', 'welcome');
    expect(a.doc.steps.find((s) => s.id === 'welcome')).toMatchObject({ next: a.id });
    const b = insertStep(a.doc, 'http', a.id);
    expect(b.doc.steps.find((s) => s.id === a.id)).toMatchObject({ next: b.id });
    // Inserted between two steps: the new one takes over the old target.
    const c = insertStep(b.doc, 'set', 'welcome');
    expect(c.doc.steps.find((s) => s.id === 'welcome')).toMatchObject({ next: c.id });
    expect(c.doc.steps.find((s) => s.id === c.id)).toMatchObject({ next: a.id });
    expect(new Set(c.doc.steps.map((s) => s.id)).size).toBe(c.doc.steps.length);
  });

  it('the canvas reads from the start along transitions and puts unreachable steps last', () => {
    const doc = orderTemplate(true, false);
    const shuffled = { ...doc, steps: [...doc.steps].reverse(), start: 'ask_order' };
    const { order, reachable } = layoutOrder({ ...shuffled, steps: [...shuffled.steps, { id: 'orphan', type: 'end' }] });
    expect(order.map((s) => s.id)).toEqual(['ask_order', 'lookup', 'answer', 'is_shipped', 'shipped', 'not_shipped', 'api_down', 'orphan']);
    expect(reachable.has('orphan')).toBe(false);
  });

  it('issue paths and messages find their step; documents compare regardless of key order', () => {
    const doc = orderTemplate(true, false);
    expect(stepOfIssue(doc, { path: 'steps.3.cases.0.next', message: '…' })).toBe('is_shipped');
    expect(stepOfIssue(doc, { path: 'body.draft.steps.1.url', message: '…' })).toBe('lookup');
    expect(stepOfIssue(doc, { path: 'start', message: '…' })).toBe('ask_order');
    expect(stepOfIssue(doc, { path: 'x', message: 'step "answer" uses {{foo}}' })).toBe('answer');
    const reordered = JSON.parse(JSON.stringify({ steps: doc.steps, start: doc.start, triggers: doc.triggers })) as typeof doc;
    expect(sameDocument(doc, reordered)).toBe(true);
    expect(sameDocument(doc, renameStep(doc, 'answer', 'tell')!)).toBe(false);
  });
});
