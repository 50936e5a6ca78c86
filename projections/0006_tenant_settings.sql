-- Tenant settings (TenantConfigured events, last writer wins per tenant). A tenant without a
-- row has the defaults: module off, link threshold 0.8, no default region.
CREATE TABLE tenant_settings (
    tenant_id      text COLLATE "C" PRIMARY KEY,
    is_customer360 boolean NOT NULL,
    link_threshold double precision NOT NULL CHECK (link_threshold > 0 AND link_threshold <= 1),
    default_region text,
    occurred_at    timestamptz NOT NULL,
    event_id       text COLLATE "C" NOT NULL
);
