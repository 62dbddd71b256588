-- Version 2: a change counter that nodes poll to notice writes made by another
-- process (the CLI), and when each project last changed. A version 1 database
-- that holds projects was seeded: its counter starts at 1.
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT INTO meta (key, value)
    SELECT 'version', CASE WHEN EXISTS (SELECT 1 FROM projects) THEN 1 ELSE 0 END;
ALTER TABLE projects ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
