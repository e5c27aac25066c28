import { describe, expect, it } from 'vitest';
import { checkBranchPattern, isBranchGlob, matchBranch } from '../../src/core/branch-glob.ts';

describe('branch globs', () => {
  it('tells globs from names', () => {
    expect(isBranchGlob('release/*')).toBe(true);
    expect(isBranchGlob('feature/**')).toBe(true);
    expect(isBranchGlob('main')).toBe(false);
  });

  it.each([
    ['main', 'main', true],
    ['main', 'main2', false],
    ['release/*', 'release/1.2', true],
    ['release/*', 'release/1.2/hotfix', false],
    ['release/*', 'release', false],
    ['release/*', 'prerelease/1', false],
    ['feature/**', 'feature/a/b/c', true],
    ['feature/**', 'feature/a', true],
    ['feature/**', 'features/a', false],
    ['*', 'main', true],
    ['*', 'a/b', false],
    ['**', 'a/b', true],
    ['v1.*', 'v1.2', true],
    ['v1.*', 'v1x2', false],
    ['*-stable', 'go-stable', true],
    ['release/*/hotfix', 'release/1.0/hotfix', true],
    ['release/*/hotfix', 'release/1/0/hotfix', false],
    ['release/**/hotfix', 'release/1/0/hotfix', true],
    ['a+b', 'a+b', true],
    ['(x)*', '(x)y', true],
  ])('%s matches %s: %s', (pattern, branch, expected) => {
    expect(matchBranch(pattern, branch)).toBe(expected);
  });

  it.each([
    ['main', null],
    ['release/*', null],
    ['feature/**', null],
    ['', 'is empty'],
    ['a b', 'contains whitespace'],
    ['a..b', 'contains ".."'],
    ['-x', 'starts with "-"'],
    ['x/', 'ends with "/"'],
    ['x.lock', 'ends with ".lock"'],
    ['a//b', 'contains "//"'],
    ['a~1', 'contains "~"'],
    ['a:b', 'contains ":"'],
    ['a?', 'contains "?"'],
    ['a[1]', 'contains "["'],
    ['a@{1}', 'contains "@{"'],
    ['a/.hidden', 'has a path segment starting with "." (".hidden")'],
    ['x.', 'ends with "."'],
    ['heads/main', 'starts with "heads/" or "refs/" (give the branch name alone)'],
    ['a***', 'contains "***" (use * for one path segment, ** for any)'],
  ])('checks %j', (pattern, problem) => {
    expect(checkBranchPattern(pattern)).toBe(problem);
  });
});
