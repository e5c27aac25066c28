/**
 * Branch names and globs of `branch:` / `branches:`. A glob has `*` (any characters but `/`) or
 * `**` (any characters, `/` included); everything else matches literally. Pure.
 */

/** True when the pattern is a glob (has `*`), resolved against branches seen at fire time. */
export function isBranchGlob(pattern: string): boolean {
  return pattern.includes('*');
}

const globCache = new Map<string, RegExp>();

function globToRegExp(pattern: string): RegExp {
  let regex = globCache.get(pattern);
  if (!regex) {
    const body = pattern
      .split('**')
      .map((part) =>
        part
          .split('*')
          .map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^/]*'),
      )
      .join('.*');
    regex = new RegExp(`^${body}$`);
    if (globCache.size > 1000) globCache.clear();
    globCache.set(pattern, regex);
  }
  return regex;
}

/** Whether `branch` matches `pattern`: equal for a plain name, glob rules for a glob. */
export function matchBranch(pattern: string, branch: string): boolean {
  if (!isBranchGlob(pattern)) return pattern === branch;
  return globToRegExp(pattern).test(branch);
}

/**
 * Checks a branch name or glob against the basics of `git check-ref-format`. Returns null when it
 * is acceptable, else what is wrong (the caller adds what was expected).
 */
export function checkBranchPattern(pattern: string): string | null {
  if (pattern === '') return 'is empty';
  if (/\s/.test(pattern)) return 'contains whitespace';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what git refuses
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return 'contains a control character';
  const forbidden = /[~^:?[\\]/.exec(pattern);
  if (forbidden) return `contains "${forbidden[0]}"`;
  if (/\*{3,}/.test(pattern)) return 'contains "***" (use * for one path segment, ** for any)';
  if (pattern.includes('..')) return 'contains ".."';
  if (pattern.includes('@{')) return 'contains "@{"';
  if (pattern === '@') return 'is "@"';
  if (pattern.startsWith('-')) return 'starts with "-"';
  if (pattern.startsWith('/')) return 'starts with "/"';
  if (pattern.endsWith('/')) return 'ends with "/"';
  if (pattern.endsWith('.')) return 'ends with "."';
  if (pattern.endsWith('.lock')) return 'ends with ".lock"';
  if (pattern.includes('//')) return 'contains "//"';
  const dotted = pattern.split('/').find((segment) => segment.startsWith('.'));
  if (dotted !== undefined) return `has a path segment starting with "." ("${dotted}")`;
  if (pattern.startsWith('heads/') || pattern.startsWith('refs/')) {
    return 'starts with "heads/" or "refs/" (give the branch name alone)';
  }
  return null;
}

/**
 * What is wrong with `name` as one concrete branch (a manual trigger's `--branch`), or null: the
 * same rules as a pattern (git's ref format), and no glob.
 */
export function checkBranchName(name: string): string | null {
  const problem = checkBranchPattern(name);
  if (problem !== null) return problem;
  return name.includes('*') ? 'contains "*" (name one branch, not a glob)' : null;
}
