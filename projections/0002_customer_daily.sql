-- Per-customer daily buckets, one row per (tenant, customer, UTC day, interaction type),
-- replace the per-customer summary rows and customer_action_days: one per-customer row per
-- event (instead of two), and every type, not only offer interactions, so the same rows serve
-- the customer summary, uniqueActions and the profile metrics (projections/buckets.py).
-- Rebuilt here from interaction_history, which holds every applied event.

CREATE TABLE customer_daily (
    tenant_id       text COLLATE "C" NOT NULL,
    customer_id     text COLLATE "C" NOT NULL,
    day             date   NOT NULL,
    type            text COLLATE "C" NOT NULL,
    n               bigint NOT NULL,
    value_n         bigint NOT NULL,           -- events of the bucket that carry a value
    value_sum       numeric NOT NULL,          -- exact sum of those values
    value_min       double precision,
    value_max       double precision,
    latest_at       timestamptz,               -- the latest valued event, by (time, event id)
    latest_event_id text COLLATE "C",
    latest_value    double precision,
    offers          text[] COLLATE "C" NOT NULL,  -- distinct offers met, sorted
    -- customer before day: a page of customers in id order reads only those customers' rows
    PRIMARY KEY (tenant_id, customer_id, day, type)
);

INSERT INTO customer_daily
SELECT h.tenant_id, h.customer_id, (h.occurred_at AT TIME ZONE 'UTC')::date, h.interaction_type, count(*),
       count(h.value), coalesce(sum(h.value::text::numeric), 0), min(h.value), max(h.value),
       (array_agg(h.occurred_at ORDER BY h.occurred_at DESC, h.event_id DESC) FILTER (WHERE h.value IS NOT NULL))[1],
       (array_agg(h.event_id ORDER BY h.occurred_at DESC, h.event_id DESC) FILTER (WHERE h.value IS NOT NULL))[1],
       (array_agg(h.value ORDER BY h.occurred_at DESC, h.event_id DESC) FILTER (WHERE h.value IS NOT NULL))[1],
       coalesce(array_agg(DISTINCT h.offer_id ORDER BY h.offer_id) FILTER (WHERE h.offer_id IS NOT NULL), '{}')
FROM interaction_history h
GROUP BY 1, 2, 3, 4;

DELETE FROM interaction_summary_daily WHERE dimension = 'customer';
ALTER TABLE interaction_summary_daily DROP CONSTRAINT interaction_summary_daily_dimension_check;
ALTER TABLE interaction_summary_daily ADD CONSTRAINT interaction_summary_daily_dimension_check
    CHECK (dimension IN ('action', 'treatment', 'channel'));
DROP TABLE customer_action_days;
