-- Tenant-defined metrics (MetricDefined events), last writer wins per metric id.
CREATE TABLE metric_definitions (
    tenant_id   text COLLATE "C" NOT NULL,
    metric_id   text COLLATE "C" NOT NULL,
    aggregation text NOT NULL CHECK (aggregation IN ('count', 'sum', 'min', 'max', 'latest')),
    event_type  text COLLATE "C" NOT NULL,
    window_days integer CHECK (window_days > 0),
    description text,
    deleted     boolean NOT NULL,
    occurred_at timestamptz NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, metric_id)
);
