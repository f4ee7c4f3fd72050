/**
 * Config checks at the boundary, one way for every config: a zod schema
 * says what is allowed, and the first problem becomes a ConfigError that
 * names the field, says what is wrong with the value given and what would
 * be accepted, e.g. `hiddenUnits[1]: must be a whole number >= 1, got 0`.
 */
import type { z } from 'zod';
import { ConfigError } from '../errors';

/** How to explain a field's problem: what it must be and, optionally, what is allowed. */
export interface FieldRule {
  problem: string;
  allowed?: string;
}

/**
 * Rules by field: `'dropoutRate'`, `'hiddenUnits[]'` for every item of a
 * list, `'optimizerOptions.*'` for a key the object does not know.
 */
export type FieldRules = Record<string, FieldRule>;

type Issue = z.core.$ZodIssue;
type PathPart = PropertyKey;

/** `hiddenUnits[1]`, `optimizerOptions.rho`, `factors.hiddenUnits[0]`. */
function fieldName(path: readonly PathPart[]): string {
  return path.reduce<string>((name, part) => (typeof part === 'number' ? `${name}[${part}]` : name === '' ? String(part) : `${name}.${String(part)}`), '');
}

/** The rule key of a path: item indices become `[]`. */
function ruleKey(path: readonly PathPart[]): string {
  return fieldName(path.map((part) => (typeof part === 'number' ? -1 : part))).replace(/\[-1\]/g, '[]');
}

function describe(issue: Issue, rules: FieldRules, root: string): ConfigError {
  const field = fieldName(issue.path) || root;
  if (issue.code === 'unrecognized_keys') {
    const key = ruleKey(issue.path);
    const rule = rules[key === '' ? '*' : `${key}.*`];
    const name = (unknown: string) => (issue.path.length === 0 ? unknown : `${field}.${unknown}`);
    return new ConfigError(name(issue.keys[0]), rule?.problem ?? 'is not a known field', rule?.allowed);
  }
  if (issue.code === 'invalid_value') {
    return new ConfigError(field, `unknown value ${JSON.stringify(issue.input)}`, issue.values.map((value) => String(value)).join(', '));
  }
  const rule = rules[ruleKey(issue.path)];
  if (rule !== undefined) return new ConfigError(field, `${rule.problem}, got ${JSON.stringify(issue.input)}`, rule.allowed);
  return new ConfigError(field, issue.message);
}

/** `input` as the schema's type, or a ConfigError about its first problem (`root` names the whole value). */
export function parseConfig<T>(schema: z.ZodType<T>, input: unknown, rules: FieldRules, root = 'config'): T {
  const parsed = schema.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw describe(parsed.error.issues[0], rules, root);
}
