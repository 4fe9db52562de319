import { Box, Text } from 'ink';
import { safeText } from '../src/sanitize.js';
import { clockTime } from './connection.js';
import type { Counts } from './hooks/useLiveList.js';
import { describeFilter, type Filter } from './filters.js';
import type { Theme } from './theme.js';
import { G } from './glyphs.js';
import { DEFAULT_SORT, type Sort } from './rows.js';

interface Props {
  label: string;
  /** What is read: `schema noetl`, `table public.runs`. */
  target: string;
  readOnly: boolean;
  /** The server is a hot standby: every write is refused there. */
  replica: boolean;
  paused: boolean;
  refreshSeconds: number;
  filter: Filter;
  health: Counts | null;
  shown: number;
  selected: number;
  refreshedAt: number | null;
  /** Shown when not the default (oldest first). */
  sort?: Sort;
  /** The last refresh failed: the data is not live. */
  disconnected?: boolean;
  theme: Theme;
  /** The config file's context (--context), its label colour. */
  context?: { name: string; colour: string | null } | null;
  /** Shards of a sharded cluster that did not answer, and since when. */
  missing?: string;
}

/** Two lines: how and where (mode, refresh, database, schema), then what (filter, counts). */
export function Header(p: Props) {
  const t = p.theme;
  const n = (v: number | undefined) => (v === undefined ? '-' : String(v));
  const dot = ` ${G().dot} `;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold color={t.accent}>
          noetl-console
        </Text>
        {'  '}
        {p.context ? (
          <Text bold inverse={!t.color} color={t.color ? (p.context.colour ?? t.accent) : undefined}>
            {`[${safeText(p.context.name, 30)}]`}
          </Text>
        ) : null}
        {p.context ? '  ' : ''}
        {p.replica ? (
          <Text bold inverse={!t.color} color={t.warn}>
            replica (read-only)
          </Text>
        ) : p.readOnly ? (
          <Text bold inverse={!t.color} color={t.warn}>
            READ-ONLY
          </Text>
        ) : (
          <Text>read-write</Text>
        )}
        {p.missing ? (
          <Text bold inverse={!t.color} color={t.warn}>
            {`  ${safeText(p.missing, 80)}`}
          </Text>
        ) : null}
        {'  '}
        {p.disconnected ? (
          <Text bold inverse={!t.color} color={t.danger}>
            disconnected
          </Text>
        ) : p.paused ? (
          <Text bold inverse color={t.warn}>
            PAUSED
          </Text>
        ) : (
          <Text>{`live ${p.refreshSeconds}s`}</Text>
        )}
        {` ${p.refreshedAt === null ? '--:--:--' : clockTime(p.refreshedAt)}`}
        {/* Where comes last: it is the longest part and the same all session. */}
        {`  ${safeText(p.label, 60)}  ${safeText(p.target, 60)}`}
      </Text>
      {/* Counts first: a long filter is cut, never them. */}
      <Text wrap="truncate-end">
        <Text dimColor>{'shown '}</Text>
        {p.shown}
        <Text dimColor>{`${dot}marked `}</Text>
        <Text bold={p.selected > 0} color={p.selected > 0 ? t.mark : undefined}>
          {p.selected}
        </Text>
        <Text dimColor>{`${dot}stuck `}</Text>
        {n(p.health?.stuck)}
        {p.sort && (p.sort.key !== DEFAULT_SORT.key || p.sort.desc !== DEFAULT_SORT.desc) ? `  sort ${p.sort.key}${p.sort.desc ? G().down : G().up}` : ''}
        {'  '}
        {describeFilter({ ...p.filter, text: safeText(p.filter.text, 60) })}
        <Text dimColor>{`${dot}running `}</Text>
        {n(p.health?.running)}
      </Text>
    </Box>
  );
}
