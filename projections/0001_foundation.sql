-- Foundation: consumer positions, interaction history and summaries, catalog.
-- Every row belongs to a tenant. Applied once by `profile360 migrate`.
-- Every id column uses the "C" collation: ids are compared, ordered (last-writer-wins,
-- cursors, paging) and joined byte for byte, as the pure folds do, whatever the database's
-- default collation is; one collation everywhere also keeps every join on an index.

CREATE TABLE consumer_positions (
    consumer     text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    next_offset  bigint      NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
COMMENT ON TABLE consumer_positions IS
  'Next Kafka offset to apply per (consumer, topic, partition); written in the same transaction as the rows it produced.';

CREATE TABLE interaction_history (
    tenant_id        text COLLATE "C"        NOT NULL,
    event_id         text COLLATE "C" NOT NULL,
    customer_id      text COLLATE "C"        NOT NULL,
    interaction_type text        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    channel          text,
    channel_id       text COLLATE "C",
    offer_id         text COLLATE "C",
    creative_id      text COLLATE "C",
    campaign_id      text COLLATE "C",
    workflow_id      text COLLATE "C",
    value            double precision,
    metadata         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX interaction_history_time ON interaction_history (tenant_id, occurred_at DESC, event_id DESC);
CREATE INDEX interaction_history_customer ON interaction_history (tenant_id, customer_id, occurred_at DESC, event_id DESC);
CREATE INDEX interaction_history_offer ON interaction_history (tenant_id, offer_id, occurred_at DESC, event_id DESC)
    WHERE offer_id IS NOT NULL;
CREATE INDEX interaction_history_creative ON interaction_history (tenant_id, creative_id, occurred_at DESC, event_id DESC)
    WHERE creative_id IS NOT NULL;

CREATE TABLE interaction_summary_daily (
    tenant_id  text COLLATE "C"   NOT NULL,
    dimension  text   NOT NULL CHECK (dimension IN ('action', 'treatment', 'channel', 'customer')),
    key        text COLLATE "C" NOT NULL,
    day        date   NOT NULL,
    impression bigint NOT NULL DEFAULT 0,
    click      bigint NOT NULL DEFAULT 0,
    dismiss    bigint NOT NULL DEFAULT 0,
    convert    bigint NOT NULL DEFAULT 0,
    -- key before day: a page of customers in id order reads only those customers' rows
    PRIMARY KEY (tenant_id, dimension, key, day)
);

CREATE TABLE interaction_totals (
    tenant_id text COLLATE "C"   NOT NULL,
    scope     text   NOT NULL CHECK (scope IN ('all', 'offer', 'creative', 'type')),
    key       text COLLATE "C"   NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (tenant_id, scope, key)
);
COMMENT ON TABLE interaction_totals IS
  'History rows per tenant (scope all, key empty) and per offer, creative and type: the history API''s total without counting.';

CREATE TABLE customer_action_days (
    tenant_id   text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    day         date NOT NULL,
    offer_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, day, offer_id)
);

CREATE TABLE offers (
    tenant_id   text COLLATE "C"        NOT NULL,
    offer_id    text COLLATE "C"        NOT NULL,
    name        text        NOT NULL,
    issue       text,
    "group"     text,
    status      text        NOT NULL,
    priority    integer     NOT NULL,
    occurred_at timestamptz NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, offer_id)
);

CREATE TABLE creatives (
    tenant_id   text COLLATE "C"        NOT NULL,
    creative_id text COLLATE "C"        NOT NULL,
    name        text        NOT NULL,
    offer_id    text COLLATE "C",
    channel_id  text COLLATE "C",
    occurred_at timestamptz NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, creative_id)
);

CREATE TABLE channels (
    tenant_id   text COLLATE "C"        NOT NULL,
    channel_id  text COLLATE "C"        NOT NULL,
    name        text        NOT NULL,
    medium      text,
    occurred_at timestamptz NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, channel_id)
);
