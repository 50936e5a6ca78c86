-- Segments (SegmentDefined events, last writer wins per segment id), their members and
-- counts. Membership is recomputed for the profiles a batch touches, in the batch's
-- transaction; segment_counts changes in the same transaction as segment_members.
CREATE TABLE segment_definitions (
    tenant_id   text COLLATE "C" NOT NULL,
    segment_id  text COLLATE "C" NOT NULL,
    name        text NOT NULL,
    rule        text NOT NULL,
    description text,
    version     integer NOT NULL,
    deleted     boolean NOT NULL,
    windowed    boolean NOT NULL,        -- re-evaluated on a schedule (rule_syntax.windowed)
    occurred_at timestamptz NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, segment_id)
);

CREATE TABLE segment_members (
    tenant_id    text COLLATE "C" NOT NULL,
    segment_id   text COLLATE "C" NOT NULL,
    profile_id   text COLLATE "C" NOT NULL,
    member_since timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, segment_id, profile_id)
);
CREATE INDEX segment_members_profile ON segment_members (tenant_id, profile_id);

CREATE TABLE segment_counts (
    tenant_id  text COLLATE "C" NOT NULL,
    segment_id text COLLATE "C" NOT NULL,
    members    bigint NOT NULL CHECK (members >= 0),
    PRIMARY KEY (tenant_id, segment_id)
);
