"""Attendance: punch rules, the per-frame decision, enrolment and the kiosk loop."""
