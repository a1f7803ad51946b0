"""HR store migration 13: employee self-service. An HR user account of role ``employee`` is linked to one
employee number, and employees' correction requests wait for HR's decision."""

# The role 'employee' joins hr_users' CHECK, with the link: an employee account names exactly one employee
# and no other role names any (one CHECK holds both ways). SQLite cannot change a CHECK, so it rebuilds the
# table (ids kept); the sessions that reference it are ended first (the parent row of a live session cannot
# be dropped with foreign keys on; everyone signs in again once). PostgreSQL replaces the constraint.
# One line per statement for the engine-only lines.
_ROLES = "'admin', 'hr', 'it', 'readonly', 'reviewer', 'auditor', 'employee'"
_LINK = "CHECK ((role = 'employee') = (employee_no IS NOT NULL))"
_COPIED = "id, username, role, password_hash, created_at, created_by, disabled_at"

SCHEMA_USER_EMPLOYEE_LINK = "\n".join(
    [
        "{postgresql}ALTER TABLE hr_users DROP CONSTRAINT IF EXISTS hr_users_role_check;",
        f"{{postgresql}}ALTER TABLE hr_users ADD CONSTRAINT hr_users_role_check CHECK (role IN ({_ROLES}));",
        "{postgresql}ALTER TABLE hr_users ADD COLUMN employee_no TEXT REFERENCES employees (employee_no);",
        f"{{postgresql}}ALTER TABLE hr_users ADD CONSTRAINT hr_users_employee_link {_LINK};",
        "{sqlite}DELETE FROM hr_sessions;",
        "{sqlite}CREATE TABLE hr_users_v10 (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,"
        f" role TEXT NOT NULL CHECK (role IN ({_ROLES})), password_hash TEXT NOT NULL, created_at TEXT NOT NULL,"
        " created_by TEXT NOT NULL, disabled_at TEXT, employee_no TEXT REFERENCES employees (employee_no),"
        f" {_LINK});",
        f"{{sqlite}}INSERT INTO hr_users_v10 ({_COPIED}) SELECT {_COPIED} FROM hr_users;",  # noqa: S608
        "{sqlite}DROP TABLE hr_users;",
        "{sqlite}ALTER TABLE hr_users_v10 RENAME TO hr_users;",
    ]
)

# An employee's request to fix a missed punch (add) or a wrong one (void it, or change its direction or
# time), with their reason. HR accepts it (the correction is then made through the one corrections path,
# audited, and its id kept here) or rejects it with a reason. A request never edits a punch by itself.
SCHEMA_CORRECTION_REQUESTS = """
CREATE TABLE correction_requests (
    id {pk},
    employee_no TEXT NOT NULL REFERENCES employees (employee_no),
    action TEXT NOT NULL CHECK (action IN ('add', 'void', 'change')),
    punch_uid TEXT,
    direction TEXT CHECK (direction IN ('in', 'out')),
    at_ms BIGINT,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    decided_by TEXT,
    decided_at TEXT,
    decision_reason TEXT,
    correction_id BIGINT
);
CREATE INDEX correction_requests_employee ON correction_requests (employee_no, id);
CREATE INDEX correction_requests_status ON correction_requests (status, id);
"""

SCHEMA_SELF_SERVICE = SCHEMA_USER_EMPLOYEE_LINK + "\n" + SCHEMA_CORRECTION_REQUESTS
