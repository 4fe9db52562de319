import { Box, Text } from 'ink';
import { Lines } from './Lines.js';
import { outcomeLines, outcomeSummary } from './outcomes.js';
import type { ResultsState } from './state.js';
import type { Theme } from './theme.js';
import type { Execution } from '../src/core/execution.js';
import { ACTIONS, capitalize } from '../src/core/mark.js';

/** What the write did, per execution. */
export function ResultsView({
  results: r,
  executions,
  idTail,
  height,
  width,
  theme,
}: {
  results: ResultsState;
  executions: ReadonlyMap<string, Execution>;
  idTail: number;
  height: number;
  width: number;
  theme: Theme;
}) {
  const verb = capitalize(ACTIONS[r.action].verb);
  if (r.error || !r.results) {
    return (
      <Box flexDirection="column" height={height}>
        <Text bold color={theme.danger}>{`${verb}: the write failed, nothing was confirmed written`}</Text>
        <Text wrap="wrap">{r.error ?? ''}</Text>
        <Text>Check with `noetl-console show ID` or refresh before trying again.</Text>
      </Box>
    );
  }
  const items = r.results.map((result) => ({ result, execution: executions.get(result.execution_id) ?? null }));
  const unseen = r.results.filter((x) => x.outcome === 'not_shown').length;
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate-end">{`${verb} done: ${outcomeSummary(r.results)}`}</Text>
      {unseen > 0 ? (
        <Text wrap="truncate-end" color={theme.warn}>{`${unseen} running descendant${unseen === 1 ? '' : 's'} started after the dialog opened: left running · v to review`}</Text>
      ) : null}
      <Lines lines={outcomeLines(items, theme, idTail, width)} scroll={r.scroll} height={height - (unseen > 0 ? 2 : 1)} width={width} />
    </Box>
  );
}
