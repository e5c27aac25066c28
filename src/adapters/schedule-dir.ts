/**
 * The schedule folder: reads every `*.yaml`, `*.yml` and `*.json` file of SCHEDULES_DIR (not
 * subfolders, not hidden files) in sorted order and parses each with the core.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ScheduleIssue } from '../core/errors.ts';
import type { Schedule } from '../core/model.ts';
import { findDuplicateNames, parseScheduleFile } from '../core/schedule.ts';

const SCHEDULE_FILE_PATTERN = /\.(ya?ml|json)$/i;

interface LoadedFile {
  /** The file's path as `dir/name`, the form every issue uses. */
  readonly file: string;
  readonly schedules: Schedule[];
  readonly issues: ScheduleIssue[];
}

interface LoadedDir {
  readonly files: LoadedFile[];
  /** Schedules of the files without issues, in file then entry order. */
  readonly schedules: Schedule[];
  /** Every issue of every file, in file then line order. */
  readonly issues: ScheduleIssue[];
}

function folderIssue(dir: string, message: string): LoadedDir {
  return {
    files: [],
    schedules: [],
    issues: [{ file: dir, line: 0, schedule: null, field: null, message }],
  };
}

/**
 * Loads a folder of schedule files. Never throws for bad content: a missing or unreadable folder
 * is one issue naming it; a name repeated across files is an issue of the later file (by sorted
 * file name), which then counts as invalid like any file with an issue.
 */
export function loadScheduleDir(dir: string, options: { defaultTimezone: string }): LoadedDir {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) {
      return folderIssue(
        dir,
        'is not a folder (expected a folder of *.yaml, *.yml or *.json schedule files)',
      );
    }
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what =
      code === 'ENOENT' ? 'folder not found' : `cannot read the folder (${code ?? 'error'})`;
    return folderIssue(
      dir,
      `${what} (expected SCHEDULES_DIR or --schedules to name a folder of schedule files)`,
    );
  }
  const files: LoadedFile[] = [];
  for (const name of names
    .filter((n) => SCHEDULE_FILE_PATTERN.test(n) && !n.startsWith('.'))
    .sort()) {
    const file = join(dir, name);
    let text: string;
    try {
      if (!statSync(file).isFile()) continue;
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      files.push({
        file,
        schedules: [],
        issues: [
          { file, line: 0, schedule: null, field: null, message: `cannot read the file (${code})` },
        ],
      });
      continue;
    }
    const parsed = parseScheduleFile(text, file, options);
    files.push({ file, schedules: parsed.schedules, issues: parsed.issues });
  }
  const duplicates = findDuplicateNames(files);
  const withDuplicates = files.map((loaded) => {
    const own = duplicates.filter((issue) => issue.file === loaded.file);
    if (own.length === 0) return loaded;
    return {
      file: loaded.file,
      schedules: [],
      issues: [...loaded.issues, ...own].sort((a, b) => a.line - b.line),
    };
  });
  return {
    files: withDuplicates,
    schedules: withDuplicates.flatMap((loaded) => loaded.schedules),
    issues: withDuplicates.flatMap((loaded) => loaded.issues),
  };
}
