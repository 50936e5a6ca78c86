-- Erasure (GDPR). `erasures` is what every fold consults: a person's identifiers, hashed
-- (sha256 of tenant, U+001F, identifier key), with the time up to which their records are
-- erased. It holds no personal data. `erasure_log` is the audit of applied erasures and the
-- per-table counts the API answers with (what this generation deleted: a rebuild that meets
-- the erasure before the records deletes nothing, because it never writes them).
CREATE TABLE erasures (
    tenant_id  text COLLATE "C" NOT NULL,
    subject    text COLLATE "C" NOT NULL,
    erased_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, subject)
);

CREATE TABLE erasure_log (
    tenant_id    text COLLATE "C" NOT NULL,
    erasure_id   text COLLATE "C" NOT NULL,
    erased_at    timestamptz NOT NULL,
    subjects     integer NOT NULL,
    deleted      jsonb NOT NULL,
    requested_by text,
    PRIMARY KEY (tenant_id, erasure_id)
);
