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
    client_addr    inet
);

-- added after the first release: an older table gets it here
ALTER TABLE epro_submissions ADD COLUMN IF NOT EXISTS client_addr inet;
