"""HR store migration 8: the attendance rules of the HR suites (shift settings, assignment ends, holiday
calendars, manual attendance) and the HR-suite push formats. Kept apart so migrations.py stays readable."""

SCHEMA_ATTENDANCE_RULES = """
ALTER TABLE shifts ADD COLUMN checkin_before_start_min INTEGER;
ALTER TABLE shifts ADD COLUMN checkout_after_end_min INTEGER;
ALTER TABLE shifts ADD COLUMN late_marking INTEGER NOT NULL DEFAULT 1;
ALTER TABLE shifts ADD COLUMN early_marking INTEGER NOT NULL DEFAULT 1;
ALTER TABLE shifts ADD COLUMN half_day_below_hours {real};
ALTER TABLE shifts ADD COLUMN absent_below_hours {real};
ALTER TABLE shifts ADD COLUMN direction TEXT NOT NULL DEFAULT 'typed';
ALTER TABLE shifts ADD COLUMN hours_mode TEXT NOT NULL DEFAULT 'pairs';
ALTER TABLE shifts ADD COLUMN mark_on_holidays INTEGER NOT NULL DEFAULT 0;
ALTER TABLE employee_shifts ADD COLUMN valid_to TEXT;
CREATE TABLE holiday_calendars (
    id {pk},
    name TEXT NOT NULL UNIQUE,
    is_default INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE holidays (
    calendar_id BIGINT NOT NULL REFERENCES holiday_calendars (id),
    day TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (calendar_id, day)
);
CREATE TABLE employee_calendars (
    employee_no TEXT PRIMARY KEY REFERENCES employees (employee_no),
    calendar_id BIGINT NOT NULL REFERENCES holiday_calendars (id)
);
CREATE TABLE attendance_manual (
    id {pk},
    employee_no TEXT NOT NULL REFERENCES employees (employee_no),
    day TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('present', 'half_day', 'absent', 'on_leave')),
    shift_id BIGINT REFERENCES shifts (id),
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX attendance_manual_employee ON attendance_manual (employee_no, day);
CREATE TABLE webhook_suites (
    webhook_id BIGINT PRIMARY KEY REFERENCES webhooks (id),
    suite TEXT NOT NULL CHECK (suite IN ('wecom-api', 'dingtalk', 'feishu'))
);
"""

# HR store migration 11: a holiday calendar per site (the sites of the devices an employee is assigned to),
# between an employee's own calendar and the default one.
SCHEMA_SITE_CALENDARS = """
CREATE TABLE site_calendars (
    site TEXT PRIMARY KEY,
    calendar_id BIGINT NOT NULL REFERENCES holiday_calendars (id)
);
"""
