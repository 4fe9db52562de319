import type { Command } from 'commander';
import { describeSource, loadConfig } from '../src/config-file.js';
import { UsageError } from '../src/errors.js';
import { colorEnabled, makeChalk } from '../src/format/color.js';
import { toJson } from '../src/format/json.js';
import { safeText } from '../src/sanitize.js';
import { connectionFlags, fail } from './context.js';
import { ioOf, setExitCode } from './io.js';

export function register(program: Command): void {
  program
    .command('contexts')
    .description('the contexts of the config file: name, source, read-only, colour (connects to nothing)')
    .option('--config <file>', 'config file (else noetl-console.config.json/.yaml here, else NOETL_CONSOLE_CONFIG)')
    .option('--json', 'JSON for scripts')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .action((_opts, cmd: Command) => {
      const io = ioOf(cmd);
      try {
        const flags = connectionFlags(cmd);
        const loaded = loadConfig({ configPath: flags.config, cwd: io.cwd, env: io.env });
        if (!loaded) throw new UsageError('no config file (looked for --config, noetl-console.config.json/.yaml/.yml here, NOETL_CONSOLE_CONFIG)');
        const def = loaded.config.default_context ?? null;
        const rows = (loaded.config.contexts ?? []).map((c) => ({
          name: c.name,
          source: c.source,
          ...describeSource(loaded.config.sources[c.source]!),
          read_only: c.read_only,
          colour: c.colour ?? null,
          default: c.name === def,
        }));
        if ((cmd.opts() as { json?: boolean }).json) {
          io.stdout.write(`${toJson({ file: loaded.file, default_context: def, contexts: rows })}\n`);
          return;
        }
        if (rows.length === 0) {
          io.stdout.write(`${safeText(loaded.file, 200)} has no contexts (add a contexts: list; see README, "Contexts")\n`);
          return;
        }
        const chalk = makeChalk(colorEnabled(io.stdout, flags.color, io.env));
        const header = ['', 'NAME', 'SOURCE', 'TYPE', 'WHERE', 'MODE'];
        const lines = rows.map((r) => [r.default ? '*' : '', r.name, r.source, r.type, r.target, r.read_only ? 'read-only' : 'read-write']);
        const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
        const pad = (cells: string[]) =>
          cells
            .map((c, i) => safeText(c, 200).padEnd(widths[i]!))
            .join('  ')
            .trimEnd();
        io.stdout.write(`${chalk.bold(pad(header))}\n`);
        rows.forEach((r, i) => {
          const text = pad(lines[i]!);
          io.stdout.write(`${r.colour ? chalk[r.colour](text) : text}\n`);
        });
      } catch (error) {
        setExitCode(cmd, fail(error, 'the config file', io));
      }
    });
}
