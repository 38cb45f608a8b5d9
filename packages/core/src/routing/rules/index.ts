export { containsKeyword, conditionImplies, evaluateCondition, fold, languageCovers, scalarMatches } from './conditions.ts';
export { describeTarget, evaluateRules, isRouteAction, ruleStops, type Clock, type EvaluateOptions } from './evaluate.ts';
export {
  conditionsImply,
  findUnreachable,
  validateRuleSet,
  type RoutingCatalog,
  type ValidatedRuleSet,
  type ValidateRuleSetOptions,
} from './validate.ts';
export { parseWithPaths, toFieldIssues } from './zod-issues.ts';
