-- Counts and pages that do not scan (issue 12 item 2). Derived tables: each is a function of
-- the base projection tables (customer_daily, identity_nodes, profile_facts), kept by the
-- worker in the batch transaction that changes those, for the profiles the batch touched
-- (store/counters.py), and recomputed whole at the end of a rebuild.

-- One row per profile of seed 000's overview: a profile is an identity profile, or a customer
-- id with interactions that no identity node names (keyed by that id).
CREATE TABLE profile_activity (
    tenant_id  text COLLATE "C" NOT NULL,
    profile_id text COLLATE "C" NOT NULL,
    first_at   timestamptz NOT NULL,          -- earliest identity sighting or first interaction day (UTC midnight)
    last_day   date,                          -- latest UTC day with an interaction (NULL: none)
    reach      text[] COLLATE "C" NOT NULL,   -- channels whose latest marketing consent is granted, sorted
    PRIMARY KEY (tenant_id, profile_id)
);
-- the profiles whose last activity lies after a day (future-dated events: the overview's correction)
CREATE INDEX profile_activity_last_day ON profile_activity (tenant_id, last_day);

-- Per tenant, how many rows of profile_activity fall in each bucket: metric 'contacts' (key ''),
-- 'first_month' (key YYYY-MM of first_at, UTC), 'last_day' (key YYYY-MM-DD), 'reach' (key channel).
CREATE TABLE overview_counts (
    tenant_id text COLLATE "C" NOT NULL,
    metric    text COLLATE "C" NOT NULL CHECK (metric IN ('contacts', 'first_month', 'last_day', 'reach')),
    key       text COLLATE "C" NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (tenant_id, metric, key)
);

-- Filled here once from the base tables (as store/overview_counters.py computes them; a
-- rebuild recomputes them with that code).
INSERT INTO profile_activity
WITH keys AS (SELECT DISTINCT tenant_id, profile_id AS k FROM identity_nodes
              UNION SELECT DISTINCT c.tenant_id, c.customer_id FROM customer_daily c WHERE NOT EXISTS (
                  SELECT 1 FROM identity_nodes n WHERE n.tenant_id = c.tenant_id AND n.key = 'customer_id:' || c.customer_id)),
     members AS (SELECT tenant_id, profile_id AS k, substr(key, 13) AS customer_id FROM identity_nodes WHERE key LIKE 'customer\_id:%'
                 UNION ALL SELECT tenant_id, k, k FROM keys WHERE NOT EXISTS (
                     SELECT 1 FROM identity_nodes n WHERE n.tenant_id = keys.tenant_id AND n.key = 'customer_id:' || keys.k)),
     days AS (SELECT m.tenant_id, m.k, min(c.day) AS lo, max(c.day) AS hi FROM members m JOIN customer_daily c
              ON c.tenant_id = m.tenant_id AND c.customer_id = m.customer_id GROUP BY 1, 2),
     nodes AS (SELECT tenant_id, profile_id AS k, min(occurred_at) AS t FROM identity_nodes GROUP BY 1, 2),
     latest AS (SELECT DISTINCT ON (n.tenant_id, n.profile_id, f.name) n.tenant_id, n.profile_id AS k,
                       split_part(f.name, '/', 1) AS channel, f.value
                FROM identity_nodes n JOIN profile_facts f ON f.tenant_id = n.tenant_id AND f.key = n.key AND f.kind = 'consent'
                WHERE split_part(f.name, '/', 2) = 'marketing'
                ORDER BY n.tenant_id, n.profile_id, f.name, f.occurred_at DESC, f.event_id DESC),
     reach AS (SELECT tenant_id, k, array_agg(channel ORDER BY channel) AS channels FROM latest
               WHERE value = 'true'::jsonb GROUP BY 1, 2)
SELECT keys.tenant_id, keys.k, least(nodes.t, days.lo::timestamp AT TIME ZONE 'UTC'), days.hi, coalesce(reach.channels, '{}')
FROM keys LEFT JOIN nodes USING (tenant_id, k) LEFT JOIN days USING (tenant_id, k) LEFT JOIN reach USING (tenant_id, k);

INSERT INTO overview_counts
SELECT tenant_id, 'contacts', '', count(*) FROM profile_activity GROUP BY 1
UNION ALL SELECT tenant_id, 'first_month', to_char(first_at AT TIME ZONE 'UTC', 'YYYY-MM'), count(*) FROM profile_activity GROUP BY 1, 3
UNION ALL SELECT tenant_id, 'last_day', to_char(last_day, 'YYYY-MM-DD'), count(*) FROM profile_activity
          WHERE last_day IS NOT NULL GROUP BY 1, 3
UNION ALL SELECT a.tenant_id, 'reach', r, count(*) FROM profile_activity a, unnest(a.reach) AS r GROUP BY 1, 3;

-- groupBy=customer pages and sort=total (seed 001) for the windows callers name most: per
-- profile and window of `days` UTC days ending on the tenant's window_bases.as_of, the
-- profile's offer interactions counted over all of its customer ids. `head` is the least of its
-- customer ids with offer interactions in the window (the page order and cursor); `first_day`
-- the earliest day in the window with one (the rows a new day moves out of the window: found by
-- a scan of the tenant's rows once a day, so no index of its own to keep per batch). Only
-- what orders the pages is kept: a page counts its own profiles' interactions per type and
-- their distinct offers from customer_daily (bounded work; keeping sets of offers here cost
-- the writer more than the rest of the table).
-- Interactions only add to a row (sum, least: store/counters.py adds their deltas).
-- Filled by the worker (store/windows.py); an empty window_bases row set means "not yet
-- computed" and readers fall back to counting.
CREATE TABLE profile_windows (
    tenant_id  text COLLATE "C" NOT NULL,
    days       smallint NOT NULL,
    profile_id text COLLATE "C" NOT NULL,
    head       text COLLATE "C" NOT NULL,
    total      bigint NOT NULL,
    first_day  date NOT NULL,
    PRIMARY KEY (tenant_id, days, profile_id)
);
CREATE INDEX profile_windows_head ON profile_windows (tenant_id, days, head);
CREATE INDEX profile_windows_total ON profile_windows (tenant_id, days, total DESC, profile_id);

CREATE TABLE window_bases (
    tenant_id text COLLATE "C" PRIMARY KEY,
    as_of     date NOT NULL   -- the last day of every window of the tenant's profile_windows rows
);
