-- The materialized profile (src/profile360/projections/read_models.py): one document per
-- profile that has identity nodes, one per customer id that has interactions, written by the
-- worker in the transaction of the rows they are derived from, so a read of any profile shape
-- is one statement of primary-key lookups. Documents are JSON bytes, read whole and never
-- queried inside; `convert_from(doc, 'UTF8')::jsonb` shows one. Filled from the existing
-- rows right after this migration (store/read_models.py, `backfill`).

CREATE TABLE profile_reads (
    tenant_id    text COLLATE "C" NOT NULL,
    profile_id   text COLLATE "C" NOT NULL,
    customer_ids text[] COLLATE "C" NOT NULL,  -- of its identifiers; their customer_reads rows
    doc          bytea NOT NULL,
    PRIMARY KEY (tenant_id, profile_id)
);

CREATE TABLE customer_reads (
    tenant_id   text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    doc         bytea NOT NULL,
    -- the transaction that last wrote it: every transaction that changes the customer's
    -- customer_daily rows rewrites this row, so it versions them too (an ETag reads it)
    written_in  bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
    PRIMARY KEY (tenant_id, customer_id)
);
