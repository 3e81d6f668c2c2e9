-- Extra columns for epro_column (README, "Extra columns"): an example
-- for the gateway of conf/gateway.example.conf, which stores with every
-- row the subject the auth service vouched for and the phone's device
-- id.  The module never alters a table: run this (adapted) yourself, on
-- each table a location with epro_column writes, before nginx connects.
--
-- The values arrive as text (an unset variable as NULL): use text (or
-- varchar(n), n >= 1024, the longest value the module accepts).  A
-- column the table lacks fails the INSERT's PREPARE at connect (SQLSTATE
-- 42703): every location of that database gets 503 until it is added.

ALTER TABLE epro_submissions
    ADD COLUMN IF NOT EXISTS auth_user text,
    ADD COLUMN IF NOT EXISTS device_id text;

-- e.g. to find a subject's rows by the identity that stored them
-- CREATE INDEX IF NOT EXISTS epro_submissions_auth_user
--     ON epro_submissions (auth_user);
