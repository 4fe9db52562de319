import { useEffect, useState } from 'react';
import type { Actor } from '../../src/audit.js';
import type { ExecutionSource } from '../../src/source.js';
import { errorLine } from '../connection.js';
import { isWould, type MarkResult, type Action } from '../../src/core/mark.js';
import type { Execution } from '../../src/core/execution.js';

export interface PreviewItem {
  result: MarkResult;
  execution: Execution | null;
}

export type Preview = { status: 'loading' } | { status: 'ready'; items: PreviewItem[]; changeCount: number } | { status: 'error'; message: string };

type Request = { action: Action; ids: readonly string[]; cascade: boolean };
const LOADING: Preview = { status: 'loading' };

/**
 * What a cancel or fail would change, read from the database with a dry run:
 * each execution named, and with cascade its descendants, with path and age.
 */
export function useMarkPreview(source: ExecutionSource, request: Request | null, actor: Actor): Preview {
  // Tagged with what it answers, so a toggled cascade never shows the old answer.
  const [state, setState] = useState<{ for: Request | null; preview: Preview }>({ for: null, preview: LOADING });
  const action = request?.action;
  const ids = request?.ids;
  const cascade = request?.cascade;
  useEffect(() => {
    if (!action || !ids) return;
    let stopped = false;
    const answer = (preview: Preview) => {
      if (!stopped) setState({ for: { action, ids, cascade: Boolean(cascade) }, preview });
    };
    (async () => {
      const results = await source.mark({ action, ids, cascade: Boolean(cascade), dryRun: true, reason: 'preview', actor });
      const described = new Map((await source.describe(results.map((r) => r.execution_id))).map((e) => [e.execution_id, e]));
      const items = results.map((result) => ({ result, execution: described.get(result.execution_id) ?? null }));
      const changeCount = results.filter((r) => isWould(r.outcome)).length;
      answer({ status: 'ready', items, changeCount });
    })().catch((error: unknown) => answer({ status: 'error', message: errorLine(error, source.db.label) }));
    return () => {
      stopped = true;
    };
  }, [source, action, ids, cascade, actor]);
  const f = state.for;
  const current = request && f && f.action === request.action && f.ids === request.ids && f.cascade === request.cascade;
  return current ? state.preview : LOADING;
}
