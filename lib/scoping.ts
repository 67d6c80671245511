/**
 * How the construct keeps IAM and Lambda resource policies within their size
 * limits while staying as narrow as the limits allow.
 *
 * Each managed template becomes one resource pattern. When the patterns do not
 * fit in the budget, templates whose names share a prefix are folded into one
 * `prefix*` pattern, trying the longest shared prefix first; at prefix length
 * 0 every concrete name folds into `*`. Names that are tokens (unknown until
 * deploy) stay exact while they fit and fold into `*` last.
 */
import { Token } from 'aws-cdk-lib';

/** The outcome of scoping: name patterns (exact names, or `prefix*`). */
export interface ScopedNames {
  /** Exact names and `prefix*` patterns, in a stable order. */
  readonly patterns: string[];
  /** True when at least one pattern is wider than one template. */
  readonly widened: boolean;
}

/**
 * Largest length a template name can have once resolved: names are at most
 * 36 characters, so an unresolved token is counted as 36.
 */
export const MAX_TEMPLATE_NAME_LENGTH = 36;

/**
 * Narrow `names` to patterns that `fits` accepts.
 *
 * @param names template names (concrete or tokens), duplicates allowed
 * @param fits  whether a list of patterns is within the caller's limit
 */
export function scopeNames(names: readonly string[], fits: (patterns: string[]) => boolean): ScopedNames {
  const unique = [...new Set(names)];
  const concrete = unique.filter((n) => !Token.isUnresolved(n)).sort();
  const tokens = unique.filter((n) => Token.isUnresolved(n));

  const exact = [...concrete, ...tokens];
  if (fits(exact)) {
    return { patterns: exact, widened: false };
  }

  const longest = concrete.reduce((max, n) => Math.max(max, n.length), 0);
  for (let length = longest - 1; length >= 0; length--) {
    const folded = [...foldByPrefix(concrete, length), ...tokens];
    if (fits(folded)) {
      return { patterns: folded, widened: true };
    }
  }
  return { patterns: ['*'], widened: true };
}

/** Names sharing their first `length` characters with another name become `prefix*`. */
function foldByPrefix(sortedNames: readonly string[], length: number): string[] {
  const groups = new Map<string, string[]>();
  for (const name of sortedNames) {
    const key = name.length > length ? name.slice(0, length) : name;
    const group = groups.get(key) ?? [];
    group.push(name);
    groups.set(key, group);
  }
  return [...groups.entries()].map(([prefix, members]) => (members.length > 1 ? `${prefix}*` : members[0]));
}
