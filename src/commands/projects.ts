/**
 * `codeship-cron projects [--json]`: the organization's projects, to find the UUIDs and names that
 * schedule files refer to. Needs only the API settings; API errors exit 1 as `error: …`.
 */
import { loadConfig } from '../config.ts';
import type { Project } from '../core/model.ts';
import { createApi } from '../deps.ts';
import { type Command, parseCommandArgs } from './context.ts';

/** Plain-text table with a header line, columns padded to the widest cell. */
export function formatProjectTable(projects: readonly Project[]): string {
  const rows = [['UUID', 'NAME', 'TYPE'], ...projects.map((p) => [p.uuid, p.name, p.type])];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  const lines = rows.map((row) =>
    row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '),
  );
  return `${lines.join('\n')}\n`;
}

const projects: Command = async (context) => {
  const { values } = parseCommandArgs(context, 'projects');
  const config = loadConfig(context.env, context.readSecret, { requireApi: true });
  const client = createApi(config, context.logger(config.logLevel, { command: 'projects' }));
  const list = (await client.listProjects({ signal: context.signal })).sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  if (values.json) {
    const rows = list.map((p) => ({ uuid: p.uuid, name: p.name, type: p.type }));
    context.stdout(`${JSON.stringify(rows, null, 2)}\n`);
  } else {
    context.stdout(formatProjectTable(list));
  }
  return 0;
};

export default projects;
