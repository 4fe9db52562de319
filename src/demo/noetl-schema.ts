/**
 * DDL of a NoETL-shaped schema, close to the real one (see
 * ../shared/noetl-schema.md and noetl/noetl's schema_ddl.sql): an event
 * table range-partitioned by execution_id with a default partition, the
 * result-shape CHECK, tenant and chain columns and the real indexes; catalog,
 * runtime, a hash-partitioned command table, the Python engine's execution
 * projection (with its state JSONB) and snowflake_id().
 */
export interface SchemaOptions {
  /** Leave out snowflake_id(), as in older or Rust-only databases. */
  withoutSnowflake?: boolean;
  withoutCommand?: boolean;
  /** Leave out the event table's primary key and indexes (bulk loads add them after). */
  deferIndexes?: boolean;
}

/** The event table's primary key and the indexes a NoETL database has. */
export function noetlEventIndexesSql(schema: string): string {
  const s = `"${schema}"`;
  return `
ALTER TABLE ${s}.event ADD PRIMARY KEY (execution_id, event_id);
CREATE INDEX idx_event_exec_type ON ${s}.event (execution_id, event_type, event_id DESC);
CREATE INDEX idx_event_exec_id ON ${s}.event (execution_id, event_id DESC);
CREATE INDEX idx_event_parent_exec ON ${s}.event (parent_execution_id);
CREATE INDEX idx_event_type ON ${s}.event (event_type);
CREATE INDEX idx_event_created_at ON ${s}.event (created_at);
CREATE INDEX idx_event_playbook_init ON ${s}.event (event_id DESC)
  INCLUDE (execution_id, catalog_id, parent_execution_id, created_at)
  WHERE event_type = 'playbook.initialized';
`;
}

export function noetlSchemaSql(schema: string, opts: SchemaOptions = {}): string {
  const s = `"${schema}"`;
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
${
  opts.withoutSnowflake
    ? ''
    : `CREATE SEQUENCE ${s}.snowflake_seq;
CREATE FUNCTION ${s}.snowflake_id() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT (((extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1577836800000) << 22)
         | (nextval('${schema}.snowflake_seq') % 4194304)
$$;`
}
CREATE TABLE ${s}.catalog (
  catalog_id bigint PRIMARY KEY,
  path text NOT NULL,
  version smallint NOT NULL,
  kind varchar NOT NULL,
  content text,
  created_at timestamp DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (path, version)
);
CREATE TABLE ${s}.event (
  execution_id bigint NOT NULL,
  event_id bigint NOT NULL,
  catalog_id bigint NOT NULL REFERENCES ${s}.catalog (catalog_id),
  parent_event_id bigint,
  parent_execution_id bigint,
  created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  event_type varchar,
  node_id varchar,
  node_name varchar,
  node_type varchar,
  status varchar,
  worker_id varchar,
  duration double precision,
  context jsonb,
  result jsonb,
  meta jsonb,
  error text,
  current_index int,
  current_item text,
  stack_trace text,
  tenant_id text NOT NULL DEFAULT 'default',
  organization_id text NOT NULL DEFAULT 'default',
  event_time timestamptz NOT NULL DEFAULT now(),
  ingest_time timestamptz NOT NULL DEFAULT now(),
  prev_event_id bigint,
  idempotency_key text,
  CONSTRAINT chk_event_result_shape CHECK (
    result IS NULL OR (
      jsonb_typeof(result) = 'object'
      AND jsonb_typeof(result -> 'status') = 'string'
      AND (result - 'status' - 'context' - 'reference') = '{}'::jsonb
      AND (NOT (result ? 'context') OR jsonb_typeof(result -> 'context') = 'object')
      AND (NOT (result ? 'reference') OR jsonb_typeof(result -> 'reference') = 'object')
    )
  )
) PARTITION BY RANGE (execution_id);
CREATE TABLE ${s}.event_p0 PARTITION OF ${s}.event FOR VALUES FROM (MINVALUE) TO (500000000000000000);
CREATE TABLE ${s}.event_p1 PARTITION OF ${s}.event FOR VALUES FROM (500000000000000000) TO (550000000000000000);
CREATE TABLE ${s}.event_p2 PARTITION OF ${s}.event FOR VALUES FROM (550000000000000000) TO (600000000000000000);
CREATE TABLE ${s}.event_default PARTITION OF ${s}.event DEFAULT;
${opts.deferIndexes ? '' : noetlEventIndexesSql(schema)}

CREATE TABLE ${s}.execution (
  execution_id bigint PRIMARY KEY,
  catalog_id bigint NOT NULL REFERENCES ${s}.catalog (catalog_id),
  status varchar NOT NULL,
  start_time timestamptz,
  end_time timestamptz,
  error text,
  created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  parent_execution_id bigint,
  last_event_type varchar,
  last_node_name varchar,
  last_event_id bigint,
  state jsonb
);

CREATE TABLE ${s}.runtime (
  runtime_id bigint PRIMARY KEY,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('worker_pool', 'server_api', 'broker')),
  status text NOT NULL DEFAULT 'ready',
  heartbeat timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, name)
);
${
  opts.withoutCommand
    ? ''
    : `CREATE TABLE ${s}.command (
  command_id bigint NOT NULL,
  event_id bigint NOT NULL,
  execution_id bigint NOT NULL,
  catalog_id bigint NOT NULL,
  parent_execution_id bigint,
  step_name text NOT NULL,
  tool_kind text,
  status text NOT NULL DEFAULT 'PENDING',
  worker_id text,
  claimed_at timestamptz,
  started_at timestamptz,
  completed_at timestamptz,
  attempt int NOT NULL DEFAULT 1,
  meta jsonb,
  latest_event_id bigint,
  prev_event_id bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (execution_id, command_id)
) PARTITION BY HASH (execution_id);
CREATE TABLE ${s}.command_h0 PARTITION OF ${s}.command FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE ${s}.command_h1 PARTITION OF ${s}.command FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE ${s}.command_h2 PARTITION OF ${s}.command FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE ${s}.command_h3 PARTITION OF ${s}.command FOR VALUES WITH (MODULUS 4, REMAINDER 3);`
}
`;
}
