import { Text } from 'ink';
import { clockTime, type Connection } from './connection.js';
import type { Message } from './state.js';
import type { Theme } from './theme.js';

/**
 * One line between header and table: a message for the operator (until the
 * next key), else the disconnected banner, else blank (always one line, so
 * nothing jumps).
 */
export function StatusLine({
  connection,
  message,
  refreshedAt,
  now,
  label,
  theme,
  loading = null,
}: {
  connection: Connection;
  /** A chunked full load in progress. */
  loading?: { done: number; total: number } | null;
  message: Message | null;
  refreshedAt: number | null;
  now: number;
  label: string;
  theme: Theme;
}) {
  if (connection.state === 'down' && !message) {
    const secs = Math.max(0, Math.ceil((connection.retryAt - now) / 1000));
    const asOf = refreshedAt === null ? 'no data yet' : `data as of ${clockTime(refreshedAt)}`;
    return (
      <Text wrap="truncate-end" bold inverse={!theme.color} color={theme.danger}>
        {`disconnected, retrying in ${secs}s, ${asOf} · ${connection.error}`}
      </Text>
    );
  }
  if (loading && !message) return <Text wrap="truncate-end">{`reading the event log: ${loading.done} of ${loading.total} chunks…`}</Text>;
  if (connection.state === 'connecting' && !message) return <Text wrap="truncate-end">{`connecting to ${label}…`}</Text>;
  if (!message) return <Text> </Text>;
  const color = message.tone === 'error' ? theme.danger : message.tone === 'warn' ? theme.warn : theme.info;
  return (
    <Text wrap="truncate-end" color={color} bold={message.tone !== 'info'}>
      {message.text}
    </Text>
  );
}
