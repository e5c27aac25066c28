/**
 * Which branches a sweep triggers: the pure decision behind `branches:` globs and `stale:`.
 * Codeship has no branch list, so the candidates are the branches seen in the project's build
 * history (globs) plus every branch listed by name (which may never have been built).
 */
import { isBranchGlob, matchBranch } from './branch-glob.ts';
import type { StaleRule } from './model.ts';
import { formatDuration } from './time.ts';

export interface SweepDecision {
  branch: string;
  action: 'trigger' | 'skip';
  /** Human reason for the ledger: `stale (last built 31d ago)`, `fresh (last built 2d ago)`, … */
  reason: string | null;
  /** Skip reason word for skipped rows (`fresh`), null for triggers. */
  lastBuiltAt: Date | null;
}

interface SweepInput {
  patterns: readonly string[];
  stale: StaleRule | null;
  /** Newest build (any status) per branch, as far as the history was read. */
  lastBuilt: ReadonlyMap<string, Date>;
  now: Date;
}

/** Branches a sweep considers: literal names as written, and every known branch a glob matches. */
function sweepCandidates(patterns: readonly string[], known: Iterable<string>): string[] {
  const found = new Set<string>();
  const names = [...known];
  for (const pattern of patterns) {
    if (!isBranchGlob(pattern)) found.add(pattern);
    else for (const branch of names) if (matchBranch(pattern, branch)) found.add(branch);
  }
  return [...found].sort();
}

const ago = (now: Date, at: Date) => formatDuration(Math.max(0, now.getTime() - at.getTime()));

/**
 * Decides every candidate branch. Without `stale:` all are triggered. With it, a branch qualifies
 * when its newest build queued more than `olderThanMs` ago, or when it is listed by name and was
 * never built; qualifying branches are triggered oldest first (never built first), at most `max`;
 * the rest are skipped with a reason.
 */
export function decideSweep(input: SweepInput): SweepDecision[] {
  const candidates = sweepCandidates(input.patterns, input.lastBuilt.keys());
  const { stale, now, lastBuilt } = input;
  if (!stale) {
    return candidates.map((branch) => ({
      branch,
      action: 'trigger',
      reason: null,
      lastBuiltAt: lastBuilt.get(branch) ?? null,
    }));
  }
  const qualifying: { branch: string; at: Date | null }[] = [];
  const decisions: SweepDecision[] = [];
  for (const branch of candidates) {
    const at = lastBuilt.get(branch) ?? null;
    if (at === null || now.getTime() - at.getTime() > stale.olderThanMs)
      qualifying.push({ branch, at });
    else
      decisions.push({
        branch,
        action: 'skip',
        reason: `fresh (last built ${ago(now, at)} ago)`,
        lastBuiltAt: at,
      });
  }
  qualifying.sort(
    (a, b) => (a.at?.getTime() ?? -1) - (b.at?.getTime() ?? -1) || a.branch.localeCompare(b.branch),
  );
  qualifying.forEach(({ branch, at }, index) => {
    const why = at === null ? 'never built' : `last built ${ago(now, at)} ago`;
    if (index < stale.max)
      decisions.push({ branch, action: 'trigger', reason: `stale (${why})`, lastBuiltAt: at });
    else
      decisions.push({
        branch,
        action: 'skip',
        reason: `max (stale, ${why}; at most ${stale.max} per slot)`,
        lastBuiltAt: at,
      });
  });
  return decisions;
}
