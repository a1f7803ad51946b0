"""The panel's routes, one module per resource, each with a module-level router.

What a route needs arrives through FastAPI dependencies: the health report and default language from
``app.state`` (health.py), the admin pages' enroller, password, camera and snapshots from the
``AdminPanel`` that ``device.panel.enrolment.enrolment_router`` binds to each request (admin.py).
"""
