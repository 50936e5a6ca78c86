-- Seed 003: an organization's customers and their feedback, highlights, insights and issues.
-- The organization is the tenant. Each entity holds its latest version by (occurred_at,
-- event_id). `last_interacted_at` is the latest feedback date ever seen for the customer
-- (org_activity keeps it when the customer row does not exist yet). Search runs on a
-- trigram index of name and email (pg_trgm lives in public, shared by every generation).
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

CREATE TABLE org_customers (
    tenant_id          text COLLATE "C" NOT NULL,
    customer_uuid      text COLLATE "C" NOT NULL,
    full_name          text,
    email              text,
    role               text,
    persona_uuid       text COLLATE "C",
    company_uuid       text COLLATE "C",
    created_at         timestamptz NOT NULL,   -- the earliest version's time
    last_interacted_at timestamptz,
    occurred_at        timestamptz NOT NULL,   -- the latest version's
    event_id           text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, customer_uuid)
);
CREATE INDEX org_customers_search ON org_customers
    USING gin ((lower(coalesce(full_name, '') || ' ' || coalesce(email, ''))) public.gin_trgm_ops);
CREATE INDEX org_customers_recent ON org_customers (tenant_id, last_interacted_at DESC NULLS LAST, customer_uuid);
CREATE INDEX org_customers_name ON org_customers (tenant_id, full_name, customer_uuid);

CREATE TABLE org_activity (
    tenant_id          text COLLATE "C" NOT NULL,
    customer_uuid      text COLLATE "C" NOT NULL,
    last_interacted_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, customer_uuid)
);

CREATE TABLE org_feedbacks (
    tenant_id     text COLLATE "C" NOT NULL,
    feedback_uuid text COLLATE "C" NOT NULL,
    customer_uuid text COLLATE "C" NOT NULL,
    contents      text NOT NULL,
    feedback_date timestamptz NOT NULL,
    sentiment     double precision,
    source        text,
    occurred_at   timestamptz NOT NULL,
    event_id      text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, feedback_uuid)
);
CREATE INDEX org_feedbacks_customer ON org_feedbacks (tenant_id, customer_uuid, feedback_date DESC);

CREATE TABLE org_highlights (
    tenant_id       text COLLATE "C" NOT NULL,
    highlight_uuid  text COLLATE "C" NOT NULL,
    customer_uuid   text COLLATE "C" NOT NULL,
    feedback_uuid   text COLLATE "C",
    quote           text NOT NULL,
    sentiment_score double precision,
    occurred_at     timestamptz NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, highlight_uuid)
);
CREATE INDEX org_highlights_customer ON org_highlights (tenant_id, customer_uuid);

CREATE TABLE org_findings (          -- insights and issues
    tenant_id   text COLLATE "C" NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('insight', 'issue')),
    uuid        text COLLATE "C" NOT NULL,
    title       text NOT NULL,
    description text,
    score       double precision,   -- an issue's average sentiment
    occurred_at timestamptz NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, kind, uuid)
);

CREATE TABLE org_finding_customers (
    tenant_id     text COLLATE "C" NOT NULL,
    kind          text NOT NULL,
    uuid          text COLLATE "C" NOT NULL,
    customer_uuid text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, kind, uuid, customer_uuid)
);
CREATE INDEX org_finding_customers_customer ON org_finding_customers (tenant_id, customer_uuid, kind);
