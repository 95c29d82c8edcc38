"""ProSaaS CRM backend: WhatsApp and Twilio webhooks, leads, push notifications, call recordings.

The Flask application factory is ``prosaas.factory.create_app``; this package's ``__init__``
stays empty so that a worker importing ``prosaas.tasks`` does not load Flask and the routes.
"""
