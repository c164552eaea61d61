-- Reminders and email (mailer/). Same conventions as the read models: BIGINT (instants as
-- microseconds since the Unix epoch, booleans as 0/1) and TEXT. These tables are not rebuilt
-- from the log on request: the outbox remembers what was sent. Keep in step with the other
-- backend's 0006_mailer.sql.

-- Contact preferences per account, followed from the preferences streams.
CREATE TABLE mail_contacts (
    user_id          TEXT PRIMARY KEY,
    address          TEXT,
    enabled          BIGINT NOT NULL,
    reminder_minutes BIGINT
);

-- Bookings that will start and may need a reminder; active = 1 once confirmed.
CREATE TABLE mail_reminders (
    reservation_id TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    start_at       BIGINT NOT NULL,
    end_at         BIGINT NOT NULL,
    active         BIGINT NOT NULL
);
CREATE INDEX mail_reminders_start_idx ON mail_reminders (active, start_at);

-- One email per (event, recipient); sent by the SMTP workers, with a lease so two replicas
-- never send the same row at once.
CREATE TABLE mail_outbox (
    mail_id         TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    address         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    position        BIGINT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    sent_at         BIGINT,
    last_error      TEXT,
    UNIQUE (event_id, user_id)
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (status, next_attempt_at);
