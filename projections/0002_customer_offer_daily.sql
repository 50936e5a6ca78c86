-- One per-customer table instead of two: counts per (customer, day, offer) serve both a
-- customer's totals (summed over offers) and uniqueActions (distinct offers), so each event
-- updates one per-customer row instead of two. Rebuilt here from interaction_history, which
-- holds every applied event, in the same transaction as the old tables are dropped.

CREATE TABLE customer_offer_daily (
    tenant_id   text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    day         date   NOT NULL,
    offer_id    text COLLATE "C" NOT NULL,  -- '' for an offer interaction that names no offer
    impression  bigint NOT NULL DEFAULT 0,
    click       bigint NOT NULL DEFAULT 0,
    dismiss     bigint NOT NULL DEFAULT 0,
    convert     bigint NOT NULL DEFAULT 0,
    -- customer before day: a page of customers in id order reads only those customers' rows
    PRIMARY KEY (tenant_id, customer_id, day, offer_id)
);

INSERT INTO customer_offer_daily (tenant_id, customer_id, day, offer_id, impression, click, dismiss, convert)
SELECT tenant_id, customer_id, (occurred_at AT TIME ZONE 'UTC')::date, coalesce(offer_id, ''),
       count(*) FILTER (WHERE interaction_type = 'impression'), count(*) FILTER (WHERE interaction_type = 'click'),
       count(*) FILTER (WHERE interaction_type = 'dismiss'), count(*) FILTER (WHERE interaction_type = 'convert')
FROM interaction_history
WHERE interaction_type IN ('impression', 'click', 'dismiss', 'convert')
GROUP BY 1, 2, 3, 4;

DELETE FROM interaction_summary_daily WHERE dimension = 'customer';
ALTER TABLE interaction_summary_daily DROP CONSTRAINT interaction_summary_daily_dimension_check;
ALTER TABLE interaction_summary_daily ADD CONSTRAINT interaction_summary_daily_dimension_check
    CHECK (dimension IN ('action', 'treatment', 'channel'));
DROP TABLE customer_action_days;
