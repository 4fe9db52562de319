/**
 * How a cascading close is cut into transactions (issue 15, item 3): the
 * selection's descendants in one recursive query, batches of whole families
 * (a named execution with its descendants) up to the batch size in
 * executions, one INSERT ... SELECT per batch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentActor } from '../../src/audit.js';
import type { Database, Queryable } from '../../src/db/database.js';
import { familiesOf, markExecutions } from '../../src/noetl/mark.js';
import { NoetlStore } from '../../src/noetl/store.js';
import { Scenario } from '../fixtures/scenario.js';
import { backends, createTestDatabase, eventsOf, type TestDatabase } from '../helpers/db.js';
import type { MarkResult } from '../../src/core/mark.js';

/** The database, recording every statement sent through it. */
function recording(db: Database, sent: string[]): Database {
  const record = (q: Queryable): Queryable => ({
    query: (text, params) => {
      sent.push(text);
      return q.query(text, params);
    },
  });
  return {
    kind: db.kind,
    label: db.label,
    query: record(db).query,
    transaction: (fn) => db.transaction((tx) => fn(record(tx))),
    close: () => db.close(),
  };
}

describe('familiesOf', () => {
  it('puts each execution in one family, under the topmost named execution above it', () => {
    const edges = [
      { execution_id: '2', parent_execution_id: '1' },
      { execution_id: '3', parent_execution_id: '2' },
      { execution_id: '5', parent_execution_id: '4' },
      // A parent cycle between two named executions: neither is lost.
      { execution_id: '7', parent_execution_id: '8' },
      { execution_id: '8', parent_execution_id: '7' },
    ];
    const { families, rootOf, depth } = familiesOf(['3', '4', '1', '7', '8'], edges);
    expect(families.map((f) => [f.root, [...f.members].sort()])).toEqual([
      ['4', ['4', '5']],
      ['1', ['1', '2', '3']],
      ['8', ['7']],
      ['7', ['8']],
    ]);
    expect(rootOf.get('3')).toBe('1');
    expect(depth.get('3')).toBe(2);
    expect(families.flatMap((f) => f.members).sort()).toEqual(['1', '2', '3', '4', '5', '7', '8']);
  });
});

describe.each(backends())('cascading close in batches on %s', (backend) => {
  let t: TestDatabase;
  const families: { root: string; running: string[] }[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(backend);
    const s = new Scenario();
    // Families of 1 to 4 running executions: a root, children, a grandchild.
    for (let i = 0; i < 12; i++) {
      const root = s.execution({ path: `batch/root-${i}`, startedMinutesAgo: 200 - i }).issued('extract', 100);
      const running = [root.id];
      for (let c = 0; c < i % 3; c++) {
        const child = s.execution({ path: 'batch/child', startedMinutesAgo: 90, parent: root }).issued('work', 80);
        running.push(child.id);
        if (c === 1) running.push(s.execution({ path: 'batch/grandchild', startedMinutesAgo: 70, parent: child }).issued('work', 60).id);
      }
      families.push({ root: root.id, running });
    }
    await s.apply(t.db, t.schema);
  });
  afterAll(async () => t?.close());

  it('never splits a family, keeps each batch within the size unless one family is bigger, and writes each batch in one statement', async () => {
    const sent: string[] = [];
    const store = new NoetlStore(recording(t.db, sent), t.schema);
    // A child named before its parent, as cleanup selects both: it joins its parent's family.
    const named = [families[5]!.running[1]!, ...families.map((f) => f.root)];
    const batches: MarkResult[][] = [];
    const results = await markExecutions(store, {
      action: 'cancel',
      ids: named,
      reason: 'batches',
      cascade: true,
      dryRun: false,
      actor: currentActor(),
      batchSize: 4,
      onBatch: (b) => batches.push(b),
    });

    const familyOf = new Map(families.flatMap((f, n) => f.running.map((id) => [id, n] as const)));
    const batchOf = new Map(batches.flatMap((b, n) => b.map((r) => [r.execution_id, n] as const)));
    for (const f of families) expect(new Set(f.running.map((id) => batchOf.get(id))).size).toBe(1);
    for (const b of batches) {
      const inBatch = new Set(b.map((r) => familyOf.get(r.execution_id)));
      expect(b.length <= 4 || inBatch.size === 1).toBe(true);
    }
    // Roots in the order given, each followed by its descendants; the early-named child reads as cascaded.
    expect(results.filter((r) => !r.cascaded).map((r) => r.execution_id)).toEqual(families.map((f) => f.root));
    expect(results.find((r) => r.execution_id === families[5]!.running[1])).toMatchObject({ cascaded: true, root_execution_id: families[5]!.root });
    expect(results.map((r) => r.outcome).every((o) => o === 'cancelled')).toBe(true);
    expect(results.map((r) => r.execution_id).sort()).toEqual(families.flatMap((f) => f.running).sort());
    for (const id of families.flatMap((f) => f.running)) {
      expect((await eventsOf(t.db, t.schema, id)).filter((e) => e.event_type === 'execution.cancelled')).toHaveLength(1);
    }

    // Statements: one recursive read for the whole selection, one lock and one write per batch.
    expect(sent.filter((q) => q.includes('WITH RECURSIVE'))).toHaveLength(1);
    expect(sent.filter((q) => q.includes('pg_advisory_xact_lock'))).toHaveLength(batches.length);
    expect(sent.filter((q) => q.includes('INSERT INTO'))).toHaveLength(batches.length);
    expect(batches.length).toBeGreaterThan(2);
  });
});
