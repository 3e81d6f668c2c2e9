-- ngx_http_epro_module: the submissions table.
-- The module only INSERTs into it (never creates or alters it); the
-- database must use UTF8.  Give the module's role INSERT and SELECT only:
--   GRANT INSERT, SELECT ON epro_submissions TO epro_gateway;

CREATE TABLE IF NOT EXISTS epro_submissions (
    -- the idempotency key: a retry with the same id is stored once
    submission_id  uuid        PRIMARY KEY,
    study_id       text        NOT NULL,
    site_id        text,
    subject_id     text        NOT NULL,
    visit_name     text        NOT NULL,
    instrument     text        NOT NULL,
    -- device time, as the patient's phone reported it
    collected_at   timestamptz NOT NULL,
    -- when the gateway received the request
    received_at    timestamptz NOT NULL,
    -- when the row was committed
    stored_at      timestamptz NOT NULL DEFAULT now(),
    answers        jsonb       NOT NULL,
    -- the submission's JSON text exactly as the client sent it
    payload        text        NOT NULL,
    -- the client's address (after nginx's realip), for attributability
    client_addr    inet,
    -- FHIR QuestionnaireResponses only (NULL for the native contract):
    -- the resource's status code and the total computed from the
    -- answers' weights, where its Questionnaire has one
    fhir_status    text,
    score          numeric
);

-- added after the first release: an older table gets them here
ALTER TABLE epro_submissions ADD COLUMN IF NOT EXISTS client_addr inet;
ALTER TABLE epro_submissions ADD COLUMN IF NOT EXISTS fhir_status text;
ALTER TABLE epro_submissions ADD COLUMN IF NOT EXISTS score numeric;

-- answers and payload are compressed (TOAST) from about 2 KB on: lz4 does
-- that in about half the time of the default pglz (a 200-answer diary
-- stores twice as fast, bench/NOTES.md) for a few percent more disk.
-- Skipped where the server lacks lz4 (before PostgreSQL 14, or built
-- without it); rows already stored keep their compression.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE epro_submissions '
            'ALTER COLUMN answers SET COMPRESSION lz4, '
            'ALTER COLUMN payload SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'lz4 is not available: answers and payload keep pglz';
END
$$;
