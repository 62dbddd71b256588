-- Version 1: one row per project, the project as JSON (the admin API's shape).
CREATE TABLE projects (
    name TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL
);
