-- Seed 003's search and name order in every script (ICU, which Debian's PostgreSQL is built
-- with). `public.p360_fold` folds case the Unicode way, whatever the database's own locale
-- (the dev cluster's is C, where lower() folds ASCII only): upper then lower under the ICU
-- root collation (so ß, SS and ss fold alike), and the final sigma as a sigma. The trigram
-- index is on the folded name and email; the search folds its term with the same function.
-- Names sort in the ICU root collation's linguistic order (case and accents second:
-- dave < Émile < Zed), on an index in that collation. Like pg_trgm, the function lives in
-- public, shared by every generation. After an ICU upgrade (PostgreSQL warns of a collation
-- version mismatch) REINDEX these two indexes.
CREATE OR REPLACE FUNCTION public.p360_fold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT translate(lower(upper(value COLLATE "und-x-icu")), 'ς', 'σ') $$;

DROP INDEX org_customers_search;
CREATE INDEX org_customers_search ON org_customers
    USING gin (public.p360_fold(coalesce(full_name, '') || ' ' || coalesce(email, '')) public.gin_trgm_ops);
DROP INDEX org_customers_name;
CREATE INDEX org_customers_name ON org_customers (tenant_id, full_name COLLATE "und-x-icu", customer_uuid);
