-- Identity graph and per-identifier facts (traits, tags, consent). See
-- src/profile360/projections/identity.py and traits.py for the rules these tables hold.
-- Records stay under the identifier they arrived with; identity_nodes.profile_id says which
-- profile each identifier belongs to now, so a merge or unmerge updates only that column.

CREATE TABLE identity_nodes (
    tenant_id   text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,   -- type:value, normalized (as given when not valid)
    id_type     text COLLATE "C" NOT NULL,
    id_value    text COLLATE "C" NOT NULL,
    original    text NOT NULL,               -- the earliest sighting's spelling
    valid       boolean NOT NULL,
    problem     text,
    region      text,
    occurred_at timestamptz NOT NULL,        -- earliest sighting
    event_id    text COLLATE "C" NOT NULL,
    profile_id  text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX identity_nodes_profile ON identity_nodes (tenant_id, profile_id);

CREATE TABLE identity_edges (
    tenant_id   text COLLATE "C" NOT NULL,
    a           text COLLATE "C" NOT NULL,   -- a < b
    b           text COLLATE "C" NOT NULL,
    linked      boolean NOT NULL,
    confidence  double precision NOT NULL,
    eligible    boolean NOT NULL,            -- both ends valid
    occurred_at timestamptz NOT NULL,        -- last writer (journey_enrolled: first writer)
    event_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, a, b)
);
CREATE INDEX identity_edges_b ON identity_edges (tenant_id, b);

CREATE TABLE profile_facts (
    tenant_id   text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,   -- the identifier the fact arrived with
    kind        text NOT NULL CHECK (kind IN ('trait', 'tag', 'consent', 'experiment', 'journey', 'journey_enrolled')),
    name        text COLLATE "C" NOT NULL,   -- trait name, tag, channel/purpose, experiment or journey id
    value       jsonb NOT NULL,              -- trait value; tag present, consent granted; {variant}; {status, step}
    source      text,
    occurred_at timestamptz NOT NULL,        -- last writer (journey_enrolled: first writer)
    event_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, key, kind, name)
);
