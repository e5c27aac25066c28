/**
 * Branch heads: the commit each branch points at over time. A branch starts at a stable SHA
 * derived from its project and name; every push moves it to a new commit from the push's instant
 * on (a push may be back-dated or in the future, so heads are kept as a history, not one value).
 */
import { commitSha } from './ids.ts';

interface HeadChange {
  atMs: number;
  sha: string;
}

/** The head commits of every branch of every project, as a history of pushes. */
export class BranchHeads {
  /** Head changes per `project uuid \n branch`, in the order the pushes were made. */
  private readonly changes = new Map<string, HeadChange[]>();
  private pushed = 0;
  private readonly salt: string;

  /** `salt` makes pushed commits differ between simulator instances. */
  constructor(salt: string) {
    this.salt = salt;
  }

  /** The head a branch starts with, before anyone pushes (stable per project and branch). */
  initial(projectUuid: string, branch: string): string {
    return commitSha(`head/${projectUuid}/${branch}`);
  }

  /** The head at `atMs`: the latest push at or before it (ties: the later push), else `initial`. */
  at(projectUuid: string, branch: string, atMs: number): string {
    let best: HeadChange | null = null;
    for (const change of this.changes.get(`${projectUuid}\n${branch}`) ?? []) {
      if (change.atMs <= atMs && (best === null || change.atMs >= best.atMs)) best = change;
    }
    return best?.sha ?? this.initial(projectUuid, branch);
  }

  /** A push at `atMs`: returns the new commit, the branch's head from `atMs` on. */
  push(projectUuid: string, branch: string, atMs: number): string {
    const sha = commitSha(`push/${this.salt}/${projectUuid}/${branch}/${++this.pushed}`);
    const key = `${projectUuid}\n${branch}`;
    const changes = this.changes.get(key) ?? [];
    changes.push({ atMs, sha });
    this.changes.set(key, changes);
    return sha;
  }
}
