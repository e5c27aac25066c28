/**
 * The daemon's live schedules, kept per file: a file that stops validating on reload keeps its
 * previous version running (and its errors are reported), a removed file's schedules stop firing,
 * and nothing else is affected.
 */
import { compareNames } from '../core/attention.ts';
import type { ScheduleIssue } from '../core/errors.ts';
import type { Schedule } from '../core/model.ts';

export interface LoadedFile {
  file: string;
  schedules: readonly Schedule[];
  issues: readonly ScheduleIssue[];
}

export interface ReloadReport {
  issues: ScheduleIssue[];
  /** Files whose previous version stays in force because the new one is invalid. */
  kept: string[];
  added: string[];
  removed: string[];
}

export class ScheduleSet {
  private byFile = new Map<string, readonly Schedule[]>();
  private byName = new Map<string, Schedule>();
  private sorted: readonly Schedule[] | null = null;
  private downstreamsOf: Map<string, string[]> | null = null;

  /**
   * Applies a fresh load of the folder (or, with `issues` only, a folder that could not be read).
   * A valid file that defines a name still held by the kept previous version of an invalid file
   * gets an issue and counts as invalid too, so no schedule is ever dropped without a word.
   */
  apply(files: readonly LoadedFile[], folderIssues: readonly ScheduleIssue[] = []): ReloadReport {
    const report: ReloadReport = { issues: [...folderIssues], kept: [], added: [], removed: [] };
    if (folderIssues.length > 0 && files.length === 0) return report; // unreadable folder: keep all
    const before = new Set(this.byName.keys());
    const heldByKept = new Map<string, Schedule>();
    for (const loaded of files) {
      if (loaded.issues.length === 0) continue;
      for (const schedule of this.byFile.get(loaded.file) ?? []) {
        if (!heldByKept.has(schedule.name)) heldByKept.set(schedule.name, schedule);
      }
    }
    const next = new Map<string, readonly Schedule[]>();
    for (const loaded of files) {
      const issues = [...loaded.issues];
      if (issues.length === 0) {
        for (const schedule of loaded.schedules) {
          const holder = heldByKept.get(schedule.name);
          if (holder && holder.source.file !== loaded.file) {
            issues.push({
              file: loaded.file,
              line: schedule.source.line,
              schedule: schedule.name,
              field: 'name',
              message: `duplicate name "${schedule.name}" (expected names unique across all files; first defined at ${holder.source.file}:${holder.source.line}, whose previous version still runs because the file is now invalid)`,
            });
          }
        }
      }
      if (issues.length === 0) {
        next.set(loaded.file, loaded.schedules);
        continue;
      }
      report.issues.push(...issues);
      const previous = this.byFile.get(loaded.file);
      if (previous) {
        next.set(loaded.file, previous);
        report.kept.push(loaded.file);
      }
    }
    this.byFile = next;
    this.byName = new Map();
    this.sorted = null;
    this.downstreamsOf = null;
    for (const schedules of next.values()) {
      for (const schedule of schedules) {
        if (!this.byName.has(schedule.name)) this.byName.set(schedule.name, schedule);
      }
    }
    for (const name of this.byName.keys()) if (!before.has(name)) report.added.push(name);
    for (const name of before) if (!this.byName.has(name)) report.removed.push(name);
    return report;
  }

  /** Every schedule in `compareNames` order; sorted once per reload, not per request. */
  sortedByName(): readonly Schedule[] {
    this.sorted ??= [...this.byName.values()].sort((a, b) => compareNames(a.name, b.name));
    return this.sorted;
  }

  /** Chains that fire after `name`'s builds (`after: - schedule: NAME`), by name. */
  downstreams(name: string): readonly string[] {
    if (this.downstreamsOf === null) {
      const map = new Map<string, string[]>();
      for (const schedule of this.byName.values()) {
        for (const upstream of schedule.after?.upstreams ?? []) {
          if (upstream.kind !== 'schedule') continue;
          const list = map.get(upstream.schedule) ?? [];
          list.push(schedule.name);
          map.set(upstream.schedule, list);
        }
      }
      for (const list of map.values()) list.sort(compareNames);
      this.downstreamsOf = map;
    }
    return this.downstreamsOf.get(name) ?? [];
  }

  all(): Schedule[] {
    return [...this.byName.values()];
  }

  get(name: string): Schedule | undefined {
    return this.byName.get(name);
  }

  get size(): number {
    return this.byName.size;
  }
}
