/**
 * The schedule folder: reads every `*.yaml`, `*.yml` and `*.json` file of SCHEDULES_DIR (not
 * subfolders, not hidden files) in sorted order and parses each with the core. Only regular files
 * inside the folder are read: a symbolic link whose target lies outside it (a password file, say)
 * is an issue naming the link and is never opened, so its content can reach no message or log;
 * FIFOs and devices are refused without blocking; files over MAX_FILE_BYTES are refused unread.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { join, sep } from 'node:path';
import { chainProblems } from '../core/chain.ts';
import type { ScheduleIssue } from '../core/errors.ts';
import type { Schedule } from '../core/model.ts';
import { findDuplicateNames, type NameAt, parseScheduleFile } from '../core/schedule/file.ts';

export const SCHEDULE_FILE_PATTERN = /\.(ya?ml|json)$/i;
/** Largest schedule file read (10,000 schedules take about 1 MB). */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

interface LoadedFile {
  /** The file's path as `dir/name`, the form every issue uses. */
  readonly file: string;
  readonly schedules: Schedule[];
  readonly issues: ScheduleIssue[];
  /** Names its entries give, valid file or not (see `ParsedFile.names`). */
  readonly names: readonly NameAt[];
  /** Entries that read well in a file with problems (see `ParsedFile.readable`). */
  readonly readable?: readonly Schedule[];
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

const fileIssue = (file: string, message: string): LoadedFile => ({
  file,
  schedules: [],
  names: [],
  issues: [{ file, line: 0, schedule: null, field: null, message }],
});

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? 'error';

/**
 * The text of `file` when it is a regular file inside `realDir` (directly, or through a link that
 * stays inside); `skip` for a subfolder; otherwise the issue that says why it was not read.
 */
function readScheduleText(file: string, realDir: string): string | 'skip' | LoadedFile {
  let target = file;
  try {
    const link = lstatSync(file);
    if (link.isDirectory()) return 'skip';
    if (link.isSymbolicLink()) {
      try {
        target = realpathSync(file);
      } catch (error) {
        return fileIssue(
          file,
          `is a symbolic link that leads nowhere (${codeOf(error)}; expected a schedule file)`,
        );
      }
      if (!target.startsWith(realDir + sep)) {
        return fileIssue(
          file,
          'is a symbolic link to a file outside the schedule folder, which is never read (expected a regular file inside SCHEDULES_DIR)',
        );
      }
      if (statSync(target).isDirectory()) return 'skip';
    }
  } catch (error) {
    return fileIssue(file, `cannot read the file (${codeOf(error)})`);
  }
  let fd: number;
  try {
    // Non-blocking, so a FIFO can never hang the reload; no following links past the check above.
    fd = openSync(target, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    return fileIssue(file, `cannot read the file (${codeOf(error)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      return fileIssue(file, 'is not a regular file (expected a schedule file)');
    }
    if (stat.size > MAX_FILE_BYTES) {
      return fileIssue(
        file,
        `is ${stat.size} bytes (expected at most ${MAX_FILE_BYTES} bytes: split it into several files)`,
      );
    }
    return readFileSync(fd, 'utf8');
  } catch (error) {
    return fileIssue(file, `cannot read the file (${codeOf(error)})`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Chains across every file: an unknown `schedule:` upstream or a cycle is an issue of the chain's
 * file, at the upstream's line. Names of invalid files still count as known (their own errors say
 * what is wrong with them).
 */
function chainIssues(files: readonly LoadedFile[]): ScheduleIssue[] {
  // Entries that read well in files with other problems count too: every problem at once.
  const schedules = files.flatMap((loaded) =>
    loaded.issues.length > 0 ? (loaded.readable ?? []) : loaded.schedules,
  );
  if (!schedules.some((schedule) => schedule.after)) return [];
  const known = new Set(files.flatMap((loaded) => loaded.names.map((n) => n.name)));
  for (const schedule of schedules) known.add(schedule.name);
  return chainProblems(schedules, known).map(({ schedule, upstream, key, message }) => ({
    file: schedule.source.file,
    line: schedule.after?.upstreams[upstream]?.line ?? schedule.source.line,
    schedule: schedule.name,
    field: `after[${upstream}].${key}`,
    message,
  }));
}

/**
 * Loads a folder of schedule files. Never throws for bad content: a missing or unreadable folder
 * is one issue naming it; a name repeated across files (valid ones or not) is an issue of the
 * later file (by sorted file name), which then counts as invalid like any file with an issue.
 */
export function loadScheduleDir(dir: string, options: { defaultTimezone: string }): LoadedDir {
  let names: string[];
  let realDir: string;
  try {
    if (!statSync(dir).isDirectory()) {
      return folderIssue(
        dir,
        'is not a folder (expected a folder of *.yaml, *.yml or *.json schedule files)',
      );
    }
    realDir = realpathSync(dir);
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
    const text = readScheduleText(file, realDir);
    if (text === 'skip') continue;
    if (typeof text !== 'string') {
      files.push(text);
      continue;
    }
    const parsed = parseScheduleFile(text, file, options);
    files.push({
      file,
      schedules: parsed.schedules,
      issues: parsed.issues,
      names: parsed.names,
      readable: parsed.readable,
    });
  }
  const duplicates = [...findDuplicateNames(files), ...chainIssues(files)];
  const withDuplicates = files.map((loaded) => {
    const own = duplicates.filter((issue) => issue.file === loaded.file);
    if (own.length === 0) return loaded;
    return {
      ...loaded,
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
