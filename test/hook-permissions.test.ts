/**
 * Unit tests for scopeHookTemplates (lib/hook-permissions.ts): which template
 * patterns a hook's invoke permissions grant. The permissions themselves, as
 * synthesized, are test/construct.test.ts and test/iam.test.ts.
 */
import { Lazy, Token } from 'aws-cdk-lib';
import { MAX_HOOK_PERMISSIONS, scopeHookTemplates } from '../lib/hook-permissions';

const covers = (pattern: string, name: string) =>
  pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;

describe('scopeHookTemplates', () => {
  test('as many names as permissions: the exact names in registration order (not sorted), duplicates dropped', () => {
    expect(scopeHookTemplates(['sensor', 'meter', 'sensor', 'gateway'], 3)).toEqual({
      patterns: ['sensor', 'meter', 'gateway'],
      widened: false,
    });
  });

  test('a token keeps its place among the names, so adding a template never moves the others', () => {
    const name = Lazy.string({ produce: () => 'from-a-parameter' });
    expect(scopeHookTemplates(['zeta', name, 'alpha'], MAX_HOOK_PERMISSIONS)).toEqual({
      patterns: ['zeta', name, 'alpha'],
      widened: false,
    });
  });

  test('one name more than permissions: widened to at most one pattern per permission, covering every name', () => {
    const names = Array.from(
      { length: MAX_HOOK_PERMISSIONS + 1 },
      (_, i) => `${i % 2 ? 'meter' : 'gateway'}-fleet-${i}`,
    );
    expect(scopeHookTemplates(names.slice(0, MAX_HOOK_PERMISSIONS), MAX_HOOK_PERMISSIONS).widened).toBe(false);
    const scoped = scopeHookTemplates(names, MAX_HOOK_PERMISSIONS);
    // The longest prefix that fits: the longer names fold, the shorter ones still fit exactly.
    expect(scoped).toEqual({
      patterns: ['gateway-fleet-*', 'meter-fleet-1', 'meter-fleet-3', 'meter-fleet-5', 'meter-fleet-7'],
      widened: true,
    });
    for (const name of names) {
      expect({ name, covered: scoped.patterns.some((p) => covers(p, name)) }).toEqual({ name, covered: true });
    }
  });

  test('names with no common prefix fold to "*" only when nothing narrower fits', () => {
    expect(scopeHookTemplates(['a1', 'a2', 'b1', 'b2'], 2)).toEqual({ patterns: ['a*', 'b*'], widened: true });
    expect(scopeHookTemplates(['a1', 'a2', 'b1', 'b2'], 1)).toEqual({ patterns: ['*'], widened: true });
    const name = Lazy.string({ produce: () => 'from-a-parameter' });
    const withToken = scopeHookTemplates(['a1', 'a2', name], 2);
    expect(withToken.patterns[0]).toBe('a*');
    expect(Token.isUnresolved(withToken.patterns[1])).toBe(true);
  });

  test('a function no template uses grants nothing', () => {
    expect(scopeHookTemplates([], 0)).toEqual({ patterns: [], widened: false });
  });
});
