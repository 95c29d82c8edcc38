"""RQJ300 (an event job enqueued without a dedupe key) and RQJ301 (a dedupe key or event job id
that cannot recognise a retry of the same event)."""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from enum import Enum
from fnmatch import fnmatchcase
from typing import Dict, FrozenSet, List, Optional, Set, Tuple, Union

from flake8_rqjobs.names import LOCAL_DEF
from flake8_rqjobs.rules.base import (
    Context,
    EventSource,
    Facts,
    Family,
    FixAvailability,
    Invalid,
    Rule,
    Trigger,
    Valid,
    has_star_kwargs,
    keyword,
    string_value,
    terminal_name,
)
from flake8_rqjobs.rules.queues import (
    DELAY,
    JOB_POSITION,
    PREPARE_DATA,
    QUEUE_CLASS,
    SCHEDULER_POSITION,
    is_queue,
    is_scheduler,
)
from flake8_rqjobs.rules.redis_clients import wrapper_function

EVENT_JOB_DECORATOR = "event_job"
NONDET = "@nondet"  # binding kind: a value that differs on every call
ROUTE_DECORATORS: FrozenSet[str] = frozenset(
    {"route", "get", "post", "put", "patch", "delete", "api_route"}
)
ROUTE_WORDS = ("webhook", "callback")
# Functions whose result differs on every call (canonical qualified names or module prefixes).
NONDETERMINISTIC: FrozenSet[str] = frozenset(
    {
        "uuid.uuid1",
        "uuid.uuid4",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "os.urandom",
    }
)
NONDETERMINISTIC_MODULES = ("random.", "secrets.")
# The wrapper's enqueue functions.
ENQUEUE = "enqueue"
ENQUEUE_WITH_DEDUPE = "enqueue_with_dedupe"
WRAPPER_FUNCTIONS: FrozenSet[str] = frozenset({ENQUEUE, ENQUEUE_WITH_DEDUPE})
# The wrapper's scheduling calls: enqueue_at(queue, when, func, ...), enqueue_in(queue, delay,
# func, ...); the job is their third argument.
WRAPPER_SCHEDULING: FrozenSet[str] = frozenset({"enqueue_at", "enqueue_in"})
DEDUPE_KEY = "dedupe_key"
DJANGO_RQ_ENQUEUE = "django_rq.enqueue"
DELAYED = -1  # the job's "position" in f.delay(...): the receiver, every argument is the job's
# What the fix reports for every site: only a human can choose the event's key.
NO_KEY_ADVICE = (
    "event job enqueued without a dedupe key: call enqueue_with_dedupe(queue, func, ..., "
    "dedupe_key=<provider event id>) so that a provider retry cannot run it twice"
)


class EnqueueKind(Enum):
    WRAPPER_ENQUEUE = "the wrapper's enqueue()"
    WRAPPER_DEDUPE = "the wrapper's enqueue_with_dedupe()"
    QUEUE_METHOD = "an RQ queue's enqueue method"


@dataclass(frozen=True)
class DedupeFacts(Facts):
    """RQJ300/RQJ301: how the job is enqueued, the job's name, and what is wrong with its
    key or job id (``problem``, RQJ301)."""

    kind: EnqueueKind
    job: Optional[str]
    problem: Optional[str] = None


# A project module that declares an event job (the examples enqueue it from another).
_DECORATED_ELSEWHERE = {
    "app/jobs.py": "from rqjobs import event_job\n\n\n@event_job\ndef sync_lead(event):\n"
    "    return event\n"
}

_MANUAL = "event job enqueued without a dedupe key: call enqueue_with_dedupe("

# Event sources (issue 10, item 2): HTTP handlers that receive deliveries, ORM and signal
# listeners, message consumers.
SOURCE_VALID = (
    Valid(  # a job id built from the event's own id
        "from flask import request\nfrom rqjobs import enqueue\n\n\n"
        "@app.route('/notifications/twilio', methods=['POST'])\ndef twilio_status():\n"
        "    form = request.form\n"
        "    enqueue('sms', record_delivery, form, job_id=f\"twilio-{form['MessageSid']}\")\n"
        "    return '', 204\n",
        filename="crm/views.py",
    ),
    Valid(  # a project helper that derives the key itself
        "from fastapi import APIRouter, Request\n\nfrom app.hooks import enqueue_event\n\n"
        "router = APIRouter(prefix='/webhooks')\n\n\n@router.post('/github')\n"
        "def github(request: Request):\n    enqueue_event('github', request.headers)\n",
        filename="app/api.py",
    ),
    Valid(  # an application-level "enqueue once" helper
        "from flask import request\n\nfrom app.jobs import enqueue_once\n\n\n"
        "@bp.post('/callbacks/payments')\ndef payment_callback():\n    body = request.get_json()\n"
        "    enqueue_once('payments', settle_payment, body['payment_id'], body)\n",
        filename="shop/views.py",
    ),
    Valid(  # a periodic enqueue: the scheduler, not a provider, calls it
        "from rqjobs import enqueue\n\n\n@sched.scheduled_job('interval', minutes=10)\n"
        "def poll_events():\n    enqueue('sync', pull_calendar_events, since_minutes=10)\n",
        filename="app/periodic.py",
    ),
    Valid(  # an admin action, even with the request body as argument
        "from flask import request\nfrom rqjobs import enqueue\n\n\n"
        "@app.route('/admin/events/replay', methods=['POST'])\ndef replay_events():\n"
        "    enqueue('maintenance', replay_event_log, request.json['since'])\n",
        filename="ops/views.py",
    ),
    Valid(  # rq's own on_failure callback enqueues a follow-up
        "import django_rq\n\n\ndef notify_failure_callback(job, connection, type, value, tb):\n"
        "    django_rq.enqueue(alert_oncall, job.id)\n\n\n"
        "django_rq.enqueue(rebuild_index, on_failure=notify_failure_callback)\n",
        filename="search/tasks.py",
    ),
    Valid(  # a GET route: browsing events receives no delivery
        "from rqjobs import enqueue\n\n\n@app.get('/events')\ndef list_events():\n"
        "    enqueue('stats', count_page_view, 'events')\n",
        filename="app/views.py",
    ),
    Valid(  # a POST handler that neither names an event nor passes the body on
        "from flask import request\nfrom rqjobs import enqueue\n\n\n"
        "@app.route('/reports', methods=['POST'])\ndef build_report():\n"
        "    enqueue('reports', render_report, current_user.id)\n",
        filename="app/views.py",
    ),
    Valid(  # a Django view that enqueues from the session, not from the body
        "import django_rq\n\n\ndef dashboard(request):\n"
        "    django_rq.enqueue(refresh_stats, request.user.id)\n",
        filename="accounts/views.py",
    ),
    Valid(  # a signal listener that does pass a key
        "from django.db.models.signals import post_save\nfrom django.dispatch import receiver\n"
        "from rqjobs import enqueue_with_dedupe\n\n\n@receiver(post_save, sender=Invoice)\n"
        "def invoice_saved(sender, instance, created, **kwargs):\n"
        "    enqueue_with_dedupe('billing', push_invoice, instance.pk,\n"
        "                        dedupe_key=f'invoice:{instance.pk}:{instance.version}')\n",
        filename="billing/signals.py",
    ),
    Valid(  # connect() of something that is not a signal
        "from rqjobs import enqueue\n\n\ndef on_ready(conn):\n    enqueue('x', warm_cache, 1)\n\n\n"
        "pool.connect(on_ready)\n",
        filename="app/startup.py",
    ),
    Valid(  # an ordinary function named like nothing in consumer-callbacks
        "from rqjobs import enqueue\n\n\ndef resend_messages(user):\n"
        "    enqueue('mail', send_digest, user.id)\n",
        filename="app/mail.py",
    ),
    Valid(  # a route registered for GET only
        "from rqjobs import enqueue\n\n\ndef status_page():\n"
        "    enqueue('stats', count_hit, 'status')\n\n\n"
        "app.add_url_rule('/hooks/status', view_func=status_page)\n",
        filename="app/server.py",
    ),
    Valid(  # a consumed message with a job id from its partition and offset
        "from kafka import KafkaConsumer\nfrom rqjobs import enqueue\n\n\ndef run():\n"
        "    consumer = KafkaConsumer('orders', group_id='crm')\n    for msg in consumer:\n"
        "        enqueue('crm', import_order, msg.value,\n"
        "                job_id=f'orders-{msg.partition}-{msg.offset}')\n",
        filename="workers/kafka.py",
    ),
    Valid(  # an ordinary loop
        "from rqjobs import enqueue\n\n\ndef resend(rows):\n    for row in rows:\n"
        "        enqueue('mail', send_receipt, row.id)\n",
        filename="mail/batch.py",
    ),
    Valid(  # a same-module helper that derives the job id from the event
        "from flask import request\nfrom rqjobs import enqueue\n\n\n"
        "def _queue_event(payload):\n"
        "    enqueue('billing', apply_charge, payload, job_id=f\"stripe-{payload['id']}\")\n\n\n"
        "@app.post('/webhooks/stripe')\ndef stripe_in():\n    _queue_event(request.get_json())\n"
        "    return '', 204\n",
        filename="billing/views.py",
    ),
    Valid(  # a same-module helper that passes a dedupe key
        "from flask import request\nfrom rqjobs import enqueue_with_dedupe\n\n\n"
        "def _queue_event(payload):\n    enqueue_with_dedupe('crm', sync_lead, payload,\n"
        "                        dedupe_key=f\"lead:{payload['lead_id']}\")\n\n\n"
        "@app.post('/callbacks/leads')\ndef lead_in():\n    _queue_event(request.json)\n",
        filename="crm/views.py",
    ),
    Valid(  # a helper given the body that enqueues a job built from nothing it was given
        "from flask import request\nfrom rqjobs import enqueue\n\n\ndef _store(payload):\n"
        "    save_order(payload)\n    enqueue('stats', recount_dashboard)\n\n\n"
        "@app.route('/orders', methods=['POST'])\ndef orders_in():\n"
        "    _store(request.get_json())\n",
        filename="shop/views.py",
    ),
    Valid(  # a POST view whose helper gets the session's user, not the delivered body
        "import django_rq\n\n\ndef _refresh(user_id):\n"
        "    django_rq.enqueue(rebuild_dashboard, user_id)\n\n\n"
        "def save_settings(request):\n    _refresh(request.user.id)\n",
        filename="accounts/views.py",
    ),
    Valid(  # aiohttp and Starlette route definitions for GET on a webhook path
        "from aiohttp import web\nfrom starlette.routing import Route\nfrom rqjobs import enqueue\n"
        "\n\ndef status_page(request):\n    enqueue('stats', count_hit, 'status')\n\n\n"
        "app.add_routes([web.get('/webhooks/status', status_page)])\n"
        "routes = [Route('/webhooks/health', status_page)]\n",
        filename="ops/server.py",
    ),
    Valid(  # a Route class of the project (a menu entry), not Starlette's
        "from app.nav import Route\nfrom rqjobs import enqueue\n\n\ndef page(user):\n"
        "    enqueue('stats', count_hit, user.id)\n\n\n"
        "MENU = [Route('/webhooks', page, methods=['POST'])]\n",
        filename="app/menu.py",
    ),
    Valid(  # a view's own helper method that gets the session's user, not the body; another
        # class's method of the same name
        "from rest_framework.views import APIView\nfrom rqjobs import enqueue\n\n\n"
        "class ProfileView(APIView):\n    def post(self, request):\n"
        "        self._refresh(request.user.id)\n\n    def _refresh(self, user_id):\n"
        "        enqueue('accounts', rebuild_profile, user_id)\n\n\nclass Importer:\n"
        "    def _refresh(self, rows):\n        enqueue('accounts', import_rows, rows)\n",
        filename="accounts/views.py",
    ),
    Valid(  # a path constant that names no event
        "from rqjobs import enqueue\n\nREPORTS_PATH = '/reports'\n\n\n"
        "@app.post(REPORTS_PATH)\ndef build_report():\n"
        "    enqueue('reports', render_report, current_user.id)\n",
        filename="app/views.py",
    ),
    Valid(  # a path a call returns: the default of getenv is not the path
        "import os\n\nfrom rqjobs import enqueue\n\n\n"
        "@app.post(os.getenv('REPORTS_PATH', '/hooks/reports'))\ndef build_report():\n"
        "    enqueue('reports', render_report, current_user.id)\n",
        filename="app/views.py",
    ),
    Valid(  # a webhook path constant on a GET route (the provider's verification handshake)
        "from flask import request\nfrom rqjobs import enqueue\n\n"
        "WHATSAPP_PATH = '/webhooks/whatsapp'\n\n\n@app.get(WHATSAPP_PATH)\ndef verify():\n"
        "    enqueue('stats', count_hit, 'verify')\n    return request.args['hub.challenge']\n",
        filename="crm/views.py",
    ),
)

SOURCE_INVALID = (
    Invalid(  # Flask: POST route, the job's argument is the request body
        "from flask import request\nfrom rqjobs import enqueue\n\n\n"
        "@app.route('/orders/created', methods=['POST'])\ndef order_created():\n"
        "    enqueue('orders', sync_order, request.get_json())\n    return '', 204\n",
        filename="shop/views.py",
        lines=(7,),
        manual=_MANUAL,
    ),
    Invalid(  # a blueprint with a webhook prefix
        "from flask import Blueprint\nfrom rqjobs import enqueue\n\n"
        "bp = Blueprint('integrations', __name__, url_prefix='/webhooks')\n\n\n"
        "@bp.post('/github')\ndef github():\n    enqueue('ci', start_build, 'main')\n",
        filename="ci/routes.py",
        lines=(9,),
        manual=_MANUAL,
    ),
    Invalid(  # MethodView.post with the JSON body
        "from flask import request\nfrom flask.views import MethodView\n"
        "from rqjobs import enqueue\n\n\nclass PaymentsAPI(MethodView):\n    def post(self):\n"
        "        payload = request.json\n        enqueue('payments', capture, payload['id'])\n",
        filename="shop/api.py",
        lines=(9,),
        manual=_MANUAL,
    ),
    Invalid(  # FastAPI: an APIRouter whose prefix names callbacks
        "from fastapi import APIRouter\nfrom rqjobs import enqueue\n\n"
        "router = APIRouter(prefix='/callbacks', tags=['telephony'])\n\n\n"
        "@router.post('/voice')\ndef voice(call_sid: str):\n"
        "    enqueue('calls', fetch_call_log, call_sid)\n",
        filename="tel/api.py",
        lines=(9,),
        manual=_MANUAL,
    ),
    Invalid(  # FastAPI: the job gets the body model
        "from fastapi import APIRouter, Depends\nfrom rqjobs import enqueue\n\n"
        "router = APIRouter()\n\n\n@router.post('/deliveries')\n"
        "def delivery(status: DeliveryStatus, db=Depends(get_db)):\n"
        "    enqueue('mail', record_bounce, status.dict())\n",
        filename="mail/api.py",
        lines=(9,),
        manual=_MANUAL,
    ),
    Invalid(  # FastAPI: await request.json() in a coroutine
        "from fastapi import Request\nfrom rqjobs import enqueue\n\n\n"
        "@app.post('/leads')\nasync def new_lead(request: Request):\n"
        "    data = await request.json()\n    enqueue('crm', create_lead, data)\n",
        filename="crm/api.py",
        lines=(8,),
        also=("RQJ400",),
        manual=_MANUAL,
    ),
    Invalid(  # Django: a function view in a webhooks module
        "import django_rq\n\n\ndef mailgun(request):\n"
        "    django_rq.enqueue(store_inbound_mail, request.POST.dict())\n",
        filename="mail/webhooks.py",
        lines=(5,),
        manual=_MANUAL,
    ),
    Invalid(  # Django: a class-based view's post with the raw body
        "import django_rq\nfrom django.views import View\n\n\nclass ShipmentUpdates(View):\n"
        "    def post(self, request):\n        django_rq.enqueue(update_tracking, request.body)\n",
        filename="logistics/views.py",
        lines=(7,),
        manual=_MANUAL,
    ),
    Invalid(  # DRF: @api_view(["POST"]) with request.data
        "import django_rq\nfrom rest_framework.decorators import api_view\n\n\n"
        "@api_view(['POST'])\ndef subscription_changed(request):\n"
        "    django_rq.enqueue(apply_plan_change, request.data['plan'])\n",
        filename="billing/views.py",
        lines=(7,),
        manual=_MANUAL,
    ),
    Invalid(  # aiohttp: a route table's incoming route
        "from aiohttp import web\nfrom rqjobs import enqueue\n\nroutes = web.RouteTableDef()\n\n\n"
        "@routes.post('/incoming/sms')\nasync def sms(request):\n"
        "    enqueue('sms', reply_to_sms, await request.post())\n",
        filename="sms/server.py",
        lines=(9,),
        also=("RQJ400",),
        manual=_MANUAL,
    ),
    Invalid(  # SQLAlchemy: an after_insert listener
        "from sqlalchemy import event\nfrom rqjobs import enqueue\n\n\n"
        "@event.listens_for(Ticket, 'after_insert')\n"
        "def ticket_created(mapper, connection, target):\n"
        "    enqueue('support', assign_agent, target.id)\n",
        filename="support/models.py",
        lines=(7,),
        manual=_MANUAL,
    ),
    Invalid(  # SQLAlchemy: event.listen(...) registered below the function
        "from sqlalchemy import event\nfrom rqjobs import enqueue\n\n\n"
        "def price_changed(mapper, connection, target):\n"
        "    enqueue('search', reindex_product, target.id)\n\n\n"
        "event.listen(Product, 'after_update', price_changed)\n",
        filename="catalog/models.py",
        lines=(6,),
        manual=_MANUAL,
    ),
    Invalid(  # Django: @receiver(post_save, ...)
        "import django_rq\nfrom django.db.models.signals import post_save\n"
        "from django.dispatch import receiver\n\n\n@receiver(post_save, sender=Booking)\n"
        "def booking_saved(sender, instance, created, **kwargs):\n"
        "    django_rq.enqueue(send_confirmation, instance.pk)\n",
        filename="bookings/signals.py",
        lines=(8,),
        manual=_MANUAL,
    ),
    Invalid(  # blinker: signal.connect(handler)
        "from blinker import signal\nfrom rqjobs import enqueue\n\n"
        "user_invited = signal('user-invited')\n\n\ndef send_invite(sender, **extra):\n"
        "    enqueue('mail', mail_invite, extra['email'])\n\n\n"
        "user_invited.connect(send_invite)\n",
        filename="teams/signals.py",
        lines=(8,),
        manual=_MANUAL,
    ),
    Invalid(  # AMQP: a function registered with basic_consume inside main()
        "from rqjobs import enqueue\n\n\ndef on_delivery(channel, method, properties, body):\n"
        "    enqueue('orders', import_order, body)\n\n\ndef main():\n"
        "    channel.basic_consume(queue='orders', on_message_callback=on_delivery)\n",
        filename="workers/amqp.py",
        lines=(5,),
        manual=_MANUAL,
    ),
    Invalid(  # Pub/Sub: a callback named like a consumer (consumer-callbacks)
        "from rqjobs import enqueue\n\n\ndef handle_message(message):\n"
        "    enqueue('events', apply_change, message.data)\n    message.ack()\n",
        filename="workers/pubsub.py",
        lines=(5,),
        manual=_MANUAL,
    ),
    Invalid(  # a route path built from a module constant
        "from rqjobs import enqueue\n\nSTATUS_SEGMENT = 'status-callback'\n\n\n"
        "@app.post('/twilio/' + STATUS_SEGMENT)\ndef twilio_status():\n"
        "    enqueue('sms', update_status, 1)\n",
        filename="sms/views.py",
        lines=(8,),
        manual=_MANUAL,
    ),
    Invalid(  # a webhook route that enqueues through a same-module helper
        "from flask import request\nfrom rqjobs import enqueue\n\n\n"
        "def _queue_event(payload):\n    enqueue('billing', apply_charge, payload)\n\n\n"
        "@app.post('/webhooks/stripe')\ndef stripe_in():\n    _queue_event(request.get_json())\n"
        "    return '', 204\n",
        filename="billing/views.py",
        lines=(6,),
        manual=_MANUAL,
    ),
    Invalid(  # a POST route passes the parsed body, through a variable, to a helper
        "from flask import request\nfrom rqjobs import enqueue\n\n\n"
        "def _queue_payment(payload):\n    enqueue('billing', apply_charge, payload)\n\n\n"
        "@app.route('/payments', methods=['POST'])\ndef payments_in():\n"
        "    payload = request.get_json()\n    _queue_payment(payload)\n",
        filename="shop/views.py",
        lines=(6,),
        manual=_MANUAL,
    ),
    Invalid(  # a Django view passes the body to a helper that calls another helper
        "import json\n\nimport django_rq\n\n\ndef _enqueue_delivery(data):\n"
        "    django_rq.enqueue(record_delivery, data['MessageSid'], data['MessageStatus'])\n\n\n"
        "def _handle(raw):\n    _enqueue_delivery(json.loads(raw))\n\n\n"
        "def sms_status(request):\n    _handle(request.body)\n",
        filename="sms/views.py",
        lines=(7,),
        manual=_MANUAL,
    ),
    Invalid(  # Django: post_save.connect(handler, sender=...)
        "from django.db.models.signals import post_save\nfrom rqjobs import enqueue\n\n\n"
        "def invoice_saved(sender, instance, created, **kwargs):\n"
        "    enqueue('billing', push_invoice, instance.pk)\n\n\n"
        "post_save.connect(invoice_saved, sender=Invoice)\n",
        filename="billing/apps.py",
        lines=(6,),
        manual=_MANUAL,
    ),
    Invalid(  # aiohttp: route definitions handed to add_routes
        "from aiohttp import web\nfrom rqjobs import enqueue\n\n\nasync def inbound_sms(request):\n"
        "    enqueue('sms', reply_to_sms, 1)\n\n\n"
        "app.add_routes([web.post('/incoming/sms', inbound_sms)])\n",
        filename="sms/server.py",
        lines=(6,),
        also=("RQJ400",),
        manual=_MANUAL,
    ),
    Invalid(  # Starlette: Route(path, endpoint, methods=["POST"])
        "from starlette.routing import Route\nfrom rqjobs import enqueue\n\n\n"
        "def stripe_endpoint(request):\n    enqueue('billing', apply_charge, 1)\n\n\n"
        "routes = [Route('/webhooks/stripe', stripe_endpoint, methods=['POST'])]\n",
        filename="billing/app.py",
        lines=(6,),
        manual=_MANUAL,
    ),
    Invalid(  # DRF: a view passes the body to its own helper methods (two calls down)
        "from rest_framework.views import APIView\nfrom rqjobs import enqueue\n\n\n"
        "class PaymentsView(APIView):\n    def post(self, request):\n"
        "        self._queue_payment(request.data)\n\n    def _queue_payment(self, data):\n"
        "        self._push(data['id'])\n\n    def _push(self, payment_id):\n"
        "        enqueue('payments', capture_payment, payment_id)\n",
        filename="shop/api.py",
        lines=(13,),
        manual=_MANUAL,
    ),
    Invalid(  # a route path that is a module constant
        "from flask import request\nfrom rqjobs import enqueue\n\n"
        "STRIPE_PATH = '/webhooks/stripe'\n\n\n@app.post(STRIPE_PATH)\ndef stripe_in():\n"
        "    enqueue('billing', sync_charge, request.headers['Stripe-Signature'])\n",
        filename="billing/views.py",
        lines=(9,),
        manual=_MANUAL,
    ),
    Invalid(  # an f-string of module constants
        "from rqjobs import enqueue\n\nAPI = '/api/v1'\nSEGMENT = 'callbacks'\n\n\n"
        "@router.post(f'{API}/{SEGMENT}/voice')\ndef voice_status(call_sid: str):\n"
        "    enqueue('calls', fetch_call_log, call_sid)\n",
        filename="tel/api.py",
        lines=(9,),
        manual=_MANUAL,
    ),
    Invalid(  # a configured word and a configured consumer name
        "from rqjobs import enqueue\n\n\n@app.post('/ingest/{source}')\ndef ingest(source):\n"
        "    enqueue('etl', load_batch, source)\n\n\ndef on_record(record):\n"
        "    enqueue('etl', load_row, record)\n",
        filename="etl/api.py",
        options={"event-words": ["ingest"], "consumer-callbacks": ["on_record"]},
        lines=(6, 10),
        manual=_MANUAL,
    ),
    Invalid(  # aiohttp: a handler registered with add_post on a webhook path
        "from rqjobs import enqueue\n\n\nasync def sms(request):\n"
        "    enqueue('sms', reply_to_sms, 1)\n\n\n"
        "app.router.add_post('/webhooks/sms', sms)\n",
        filename="sms/app.py",
        lines=(5,),
        also=("RQJ400",),
        manual=_MANUAL,
    ),
    Invalid(  # Flask: add_url_rule with POST on a callback path
        "from rqjobs import enqueue\n\n\ndef payment_done():\n"
        "    enqueue('payments', settle, 1)\n\n\n"
        "app.add_url_rule('/payments/callback', 'payment_done', payment_done, methods=['POST'])\n",
        filename="shop/app.py",
        lines=(5,),
        manual=_MANUAL,
    ),
    Invalid(  # Kafka: a job per message of a consumer loop
        "from kafka import KafkaConsumer\nfrom rqjobs import enqueue\n\n\ndef run():\n"
        "    consumer = KafkaConsumer('payments', group_id='billing')\n"
        "    for record in consumer:\n        enqueue('billing', apply_payment, record.value)\n",
        filename="workers/payments.py",
        lines=(8,),
        manual=_MANUAL,
    ),
    Invalid(  # confluent-kafka: poll() in a while loop
        "from confluent_kafka import Consumer\nfrom rqjobs import enqueue\n\n"
        "consumer = Consumer({'group.id': 'search'})\n\n\ndef run():\n    while True:\n"
        "        msg = consumer.poll(1.0)\n        if msg is not None:\n"
        "            enqueue('search', reindex, msg.value())\n",
        filename="workers/search.py",
        lines=(11,),
        manual=_MANUAL,
    ),
    Invalid(  # SQS: receive_message, then a job per message
        "import boto3\nfrom rqjobs import enqueue\n\nsqs = boto3.client('sqs')\n\n\n"
        "def drain(url):\n    response = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)\n"
        "    for message in response.get('Messages', []):\n"
        "        enqueue('inbox', store_message, message['Body'])\n",
        filename="workers/sqs.py",
        lines=(10,),
        manual=_MANUAL,
    ),
)

# Issue 10, item 3: RQ's and django-rq's own ways to enqueue an event job.
IDIOM_VALID = (
    Valid(  # enqueue_many of jobs that are not event jobs
        "from rq import Queue\n\n\ndef fan_out(q, users):\n"
        "    q.enqueue_many([Queue.prepare_data(send_digest, (u,)) for u in users])\n",
        filename="mail/digest.py",
    ),
    Valid(  # .delay() of an rq job that is not an event job
        "from rq.decorators import job\n\n\n@job('mail')\ndef send_digest(user_id):\n    ...\n",
        filename="mail/jobs.py",
    ),
)
IDIOM_INVALID = (
    Invalid(  # .delay() of an event job
        "from rq.decorators import job\n\n\n@job('hooks')\ndef process_webhook_job(payload):\n"
        "    ...\n\n\ndef receive(payload):\n    process_webhook_job.delay(payload)\n",
        filename="hooks/jobs.py",
        lines=(10,),
        also=("RQJ003",),
        manual=_MANUAL,
    ),
    Invalid(  # Queue.prepare_data of an event job, for enqueue_many
        "from rq import Queue\n\n\ndef replay(q, events):\n    q.enqueue_many(\n"
        "        [Queue.prepare_data(process_webhook_job, (e,)) for e in events]\n    )\n",
        filename="hooks/replay.py",
        lines=(6,),
        manual=_MANUAL,
    ),
    Invalid(  # the wrapper's enqueue_at of an event job (no dedupe key either)
        "from rqjobs import enqueue_at\n\n\ndef retry_later(event, when):\n"
        "    enqueue_at('webhooks', when, process_webhook_job, event)\n",
        filename="hooks/retry.py",
        lines=(5,),
        manual=_MANUAL,
    ),
    Invalid(  # rq-scheduler's enqueue_at of an event job
        "from rq_scheduler import Scheduler\n\nscheduler = Scheduler(connection=conn)\n\n\n"
        "def retry_later(event, when):\n    scheduler.enqueue_at(when, push_send_job, event)\n",
        filename="push/retry.py",
        lines=(7,),
        also=("RQJ003",),
        manual=_MANUAL,
    ),
)

RQJ300 = Rule(
    code="RQJ300",
    summary="event job enqueued without a dedupe key",
    message=(
        "{job} is an event job enqueued without a dedupe key: a provider that retries the "
        "delivery gets it run twice. Use {wrapper}.enqueue_with_dedupe(queue, func, ..., "
        "dedupe_key=...) instead."
    ),
    doc="""\
## What it does
Flags a plain `enqueue(...)`, `enqueue_at(...)` or `enqueue_in(...)` (the wrapper's) or a
queue's `.enqueue(...)` / `.enqueue_call(...)` / `.enqueue_at(...)` / `.enqueue_in(...)` of an
event job: a job whose
name matches `event-jobs` (default `*webhook*_job`, `push_send_job`, `*recording*_job`,
`*twilio_callback*`; given positionally, as `func=`/`f=` or as a dotted string; a dotted
pattern, `app.hooks.send_webhook`, matches that imported function as a whole), or that is
decorated with `@event_job` (in its module or another module of the project), or any job
enqueued inside an HTTP handler whose route path contains
"webhook" or "callback". A call that passes `**kwargs` is not flagged (the key may be inside),
nor one with `job_id=` and `unique=True` (RQ's own atomic dedupe).

RQ's own ways to enqueue count as enqueues: `django_rq.enqueue(func, ...)`,
`Queue.prepare_data(func, ...)` (the jobs of `enqueue_many`), `.delay(...)` of a function
decorated with rq's `@job(...)`, and rq-scheduler's `.schedule(...)`, `.cron(...)`,
`.enqueue_at(...)` and `.enqueue_in(...)`.

Any other enqueue is an event enqueue where the code receives deliveries:

- an HTTP handler that accepts POST (Flask `route(..., methods=["POST"])` and `.post`,
  blueprints, `MethodView.post`; FastAPI/Starlette `router.post`, `api_route`; Django function
  views taking `request`, class-based `post`, DRF `APIView.post` and `@api_view(["POST"])`;
  aiohttp route tables) whose route path, router prefix (`APIRouter(prefix=...)`,
  `Blueprint(..., url_prefix=...)`), router name, module, class or function name holds one of
  the `event-words` (default `webhook`, `hook`, `callback`, `notification`, `event`, `sns`,
  `listener`, `receiver`, `inbound`, `incoming`; a plural counts; a path built from module
  constants, `"/" + CALLBACK_SEGMENT` or `f"{API}/webhooks"`, counts, the arguments of a call
  such as `os.getenv("PATH", "/webhook")` do not), or whose job arguments come
  from the request body (`request.json`, `request.get_json()`, `request.data`, `request.form`,
  `request.POST`, `request.body`, `await request.json()`, a FastAPI body-model parameter,
  also through a local variable); a handler registered by a call (`app.router.add_post(path,
  handler)`, `add_route`, `add_url_rule(..., methods=["POST"])`, `add_api_route`; aiohttp's
  `web.post(path, handler)` and `web.route("POST", path, handler)` route definitions,
  Starlette's `Route(path, endpoint, methods=["POST"])`) on a path that holds one of the words
  counts too;
- an ORM or signal listener: SQLAlchemy `@event.listens_for(Model, "after_insert")` and
  `event.listen(Model, "after_update", fn)`, Django `@receiver(post_save, ...)` and
  `post_save.connect(fn)`, blinker `signal(...).connect(fn)`;
- a job built from a message taken off a consumer in a loop: `for msg in KafkaConsumer(...)`
  (kafka-python, aiokafka), `consumer.poll(...)` (confluent-kafka), boto3's SQS
  `receive_message(...)`;
- a message-consumer callback: registered with `basic_consume(..., on_message_callback=fn)`
  or `subscribe(..., callback=fn)` anywhere in the module, or named like one of
  `consumer-callbacks` (default `on_message`, `on_*_message`, `handle_message`,
  `handle_*_message`, `process_message`, `consume_message`, `*_message_handler`).

An enqueue in a function of the same module that such a receiver calls (any call from a
webhook route or a listener; from an HTTP handler, a call that passes on the request body),
directly or through one more such function, is an event enqueue too:
`_queue_event(request.get_json())` whose body calls `enqueue(...)`; so is one in a method of
the same class that a view calls as `self._queue_event(request.data)`.

There a `job_id=` built from the event (not a constant, nothing that differs per call) counts
as a key. Not flagged: GET routes, handlers whose route, module or name says `admin`, periodic
jobs, enqueues through a helper of another module (which may derive the key), and rq's own
`on_success`/`on_failure` callbacks.

## Why is this bad?
Webhook providers (WhatsApp, Twilio, Stripe) deliver at least once: a slow answer or a network
blip makes them send the same event again. Without a dedupe key each delivery becomes a job,
and the customer gets two messages, two charges, two call recordings.

## Example
```python
@app.post("/webhooks/whatsapp")
def whatsapp_webhook():
    enqueue("webhooks", process_webhook_job, request.json)
    return "", 204
```

## Use instead
```python
@app.post("/webhooks/whatsapp")
def whatsapp_webhook():
    event = request.json
    enqueue_with_dedupe(
        "webhooks", process_webhook_job, event,
        dedupe_key=f"webhook:whatsapp:{event['id']}",
    )
    return "", 204
```
""",
    sample={"job": "process_webhook_job"},
    triggers=(Trigger("enqueue"),),
    fix="reported only (the dedupe key needs a human)",
    fix_safety="""\
Never rewritten: the key must identify the provider's event (a message SID, a webhook
delivery id), and only a human can choose it. Every site is listed as a manual fix with this
advice.
""",
    fix_availability=FixAvailability.NEVER,
    valid=(
        Valid(
            "from rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('hooks', process_webhook_job, e, dedupe_key=f\"wa:{e['id']}\")\n"
        ),
        Valid("from rqjobs import enqueue\n\nenqueue('emails', send_email_job, 1)\n"),
        Valid("from kombu import Queue\n\ndef f(q):\n    q.enqueue(process_webhook_job)\n"),
        Valid("enqueue('hooks', process_webhook_job, e)\n"),
        Valid("from rqjobs import enqueue\n\nenqueue('hooks', process_webhook_job, **opts)\n"),
        Valid(
            "from rqjobs import get_queue\n\n"
            "get_queue('h').enqueue(process_webhook_job, job_id=f'wa-{mid}', unique=True)\n",
            filename="app/services/jobs.py",
        ),
        Valid(
            "from rqjobs import enqueue\n\nenqueue('hooks', process_webhook_job, e)\n",
            options={"event-jobs": ["push_send_job"]},
        ),
        Valid(
            "from rqjobs import enqueue\n\n@app.get('/health')\ndef health():\n"
            "    enqueue('q', ping_job)\n"
        ),
        Valid(
            "import django_rq\n\ndjango_rq.enqueue(send_digest_job, user_id)\n",
        ),
        Valid(
            "import django_rq\n\n"
            "django_rq.enqueue(process_stripe_webhook_job, e, job_id=f\"stripe-{e['id']}\", "
            "unique=True)\n",
        ),
        Valid(
            "from rqjobs import enqueue\n\nfrom app.jobs import sync_lead\n\n"
            "enqueue('crm', sync_lead, payload)\n",
            files={"app/jobs.py": "def sync_lead(event):\n    return event\n"},
        ),
        Valid(
            "from app.services.jobs import enqueue_job\n\n"
            "enqueue_job('hooks', process_webhook_job, event)\n",
            files={"app/services/jobs.py": "def enqueue_job(queue, func, *args):\n    ...\n"},
        ),
        Valid(  # a job given by keyword that is no event job
            "from rqjobs import enqueue\n\nenqueue('reports', func=render_report, user_id=7)\n"
        ),
        Valid(  # a dotted event-jobs pattern names one function, not every function of its name
            "from rqjobs import enqueue\n\nfrom app.mail import send_webhook\n\n"
            "enqueue('mail', send_webhook, 'ops@example.com')\n",
            files={"app/mail.py": "def send_webhook(address):\n    ...\n"},
            options={"event-jobs": ["app.hooks.send_webhook"]},
        ),
        *SOURCE_VALID,
        *IDIOM_VALID,
    ),
    invalid=(
        Invalid(
            "from rqjobs import enqueue\n\nenqueue('hooks', process_webhook_job, e)\n",
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "import rqjobs\n\nrqjobs.enqueue('push', push_send_job, uid)\n",
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from app.services.jobs import enqueue\n\n"
            "enqueue('calls', tasks.save_recording_job, sid)\n",
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from .services import jobs\n\njobs.enqueue('calls', handle_twilio_callback, sid)\n",
            filename="app/views.py",
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from rq import Queue\n\nq = Queue('hooks')\nq.enqueue(process_webhook_job, e)\n",
            lines=(4,),
            also=("RQJ002", "RQJ003"),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue\n\n@event_job\ndef sync_contact(e):\n    pass\n\n"
            "enqueue('q', sync_contact, e)\n",
            lines=(7,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue\n\n"
            "@app.route('/twilio/status-callback', methods=['POST'])\n"
            "def status():\n    enqueue('q', update_status, request.form)\n",
            lines=(5,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue\n\n@router.post(path='/webhooks/stripe')\n"
            "async def stripe():\n    enqueue('q', 'app.tasks.charge', 1)\n",
            lines=(5,),
            also=("RQJ400",),  # a blocking enqueue inside async def
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from myco.jobs import enqueue\n\nenqueue('q', lead_sync, e)\n",
            options={"wrapper-module": "myco.jobs", "event-jobs": ["lead_*"]},
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from lib.bg import enqueue\n\nenqueue('q', process_webhook_job, e)\n",
            options={"wrapper-modules": ["lib/bg.py"]},
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from app.services.jobs import enqueue_job\n\n"
            "enqueue_job('hooks', process_webhook_job, event)\n",
            files={"app/services/jobs.py": "from rqjobs import enqueue\n\nenqueue_job = enqueue\n"},
            lines=(3,),
            manual="event job enqueued without a dedupe key: call enqueue_with_dedupe(",
        ),
        Invalid(
            "from rqjobs import enqueue\n\nfrom app.jobs import sync_lead\n\n"
            "enqueue('crm', sync_lead, payload)\n",
            files=_DECORATED_ELSEWHERE,
            lines=(5,),
            manual="event job enqueued without a dedupe key: call enqueue_with_dedupe(",
        ),
        Invalid(
            "from rqjobs import enqueue\n\nenqueue('crm', 'app.jobs.sync_lead', payload)\n",
            files=_DECORATED_ELSEWHERE,
            lines=(3,),
            manual="event job enqueued without a dedupe key: call enqueue_with_dedupe(",
        ),
        Invalid(  # the job given as func=
            "from rqjobs import enqueue\n\n\ndef receive(event):\n"
            "    enqueue('hooks', func=process_stripe_webhook_job, event=event)\n",
            lines=(5,),
            manual=_MANUAL,
        ),
        Invalid(  # the wrapper's enqueue_in with func=
            "from datetime import timedelta\n\nfrom rqjobs import enqueue_in\n\n\n"
            "def retry_later(event_id):\n"
            "    enqueue_in('hooks', timedelta(seconds=30), func=process_webhook_job, "
            "event_id=event_id)\n",
            lines=(7,),
            manual=_MANUAL,
        ),
        Invalid(  # a dotted event-jobs pattern names the imported job as a whole
            "from rqjobs import enqueue\n\nfrom app.hooks import send_webhook\n\n"
            "enqueue('hooks', send_webhook, delivery)\n",
            files={"app/hooks.py": "def send_webhook(delivery):\n    ...\n"},
            options={"event-jobs": ["app.hooks.send_webhook"]},
            lines=(5,),
            manual=_MANUAL,
        ),
        Invalid(
            "import django_rq\n\n\ndef stripe_webhook(request):\n"
            "    django_rq.enqueue(process_stripe_webhook_job, request.body)\n",
            filename="billing/views.py",
            lines=(5,),
            manual="event job enqueued without a dedupe key: call enqueue_with_dedupe(",
        ),
        *SOURCE_INVALID,
        *IDIOM_INVALID,
    ),
)

RQJ301 = Rule(
    code="RQJ301",
    summary="dedupe key or event job id that cannot recognise a retry",
    message=(
        "{problem}, so a retried event is not recognised as a duplicate. Build the key from "
        'the event\'s own id instead (e.g. dedupe_key=f"webhook:{{provider}}:{{message_id}}").'
    ),
    doc="""\
## What it does
Flags `enqueue_with_dedupe(...)` whose `dedupe_key` is missing, empty, a constant without any
placeholder, or built from a value that differs on every call (`uuid4()`, `uuid1()`,
`time.time()`, `datetime.now()`, `random`, `secrets`, also through a local variable); and an
event job enqueued with a `job_id` built from such a value.

## Why is this bad?
A key that changes on every delivery (a timestamp, a random id) never matches the retry, so
the event runs twice anyway; a constant key makes every event a duplicate of the first one, so
all but one are dropped for the whole window. A millisecond timestamp in a job id turns each
retry into a new job.

## Example
```python
enqueue_with_dedupe("hooks", process_webhook_job, e, dedupe_key=f"wa:{uuid4()}")
enqueue("hooks", process_webhook_job, e, job_id=f"wa-{int(time.time() * 1000)}")
```

## Use instead
```python
enqueue_with_dedupe("hooks", process_webhook_job, e, dedupe_key=f"wa:{e['id']}")
```
""",
    sample={"problem": "dedupe_key built from uuid.uuid4(), which differs on every delivery"},
    triggers=(Trigger("enqueue"),),
    fix="reported only (a key or job id that cannot recognise a retry)",
    fix_safety="""\
Never rewritten: a key that recognises a retry must be built from the provider's event id,
which only a human can pick. Every site is listed as a manual fix that says what is wrong
with its key or job id.
""",
    fix_availability=FixAvailability.NEVER,
    valid=(
        Valid(
            "from rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('q', process_webhook_job, e, dedupe_key='wa:%s' % e['id'])\n"
        ),
        Valid(
            "from rqjobs import enqueue_with_dedupe\n\nenqueue_with_dedupe('q', f, e, **options)\n"
        ),
        Valid(
            "import time\nfrom rqjobs import enqueue\n\n"
            "enqueue('q', send_report_job, job_id=f'r-{time.time()}')\n"
        ),
        Valid(
            "from rqjobs import enqueue_with_dedupe\n\ndef uuid4():\n    return 'fixed'\n\n"
            "enqueue_with_dedupe('q', f, dedupe_key=f'k:{uuid4()}')\n"
        ),
    ),
    invalid=(
        Invalid(
            "from rqjobs import enqueue_with_dedupe\n\nenqueue_with_dedupe('q', f, e)\n",
            lines=(3,),
            manual=(
                "enqueue_with_dedupe() without a dedupe_key: build the key from the "
                "provider's event"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('q', f, e, dedupe_key='')\n",
            lines=(3,),
            manual=(
                "enqueue_with_dedupe() with an empty dedupe_key: build the key from the provider's"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('q', f, e, dedupe_key='webhook:wa')\n",
            lines=(3,),
            manual=(
                "dedupe_key 'webhook:wa' is a constant: every event collapses into "
                "one: build the key"
            ),
        ),
        Invalid(
            "from uuid import uuid4\nimport rqjobs\n\n"
            "rqjobs.enqueue_with_dedupe('q', f, e, dedupe_key=f'wa:{uuid4()}')\n",
            lines=(4,),
            manual=(
                "dedupe_key built from uuid.uuid4(), which differs on every delivery: build the key"
            ),
        ),
        Invalid(
            "from datetime import datetime\nfrom rqjobs import enqueue_with_dedupe\n\n"
            "def h(e):\n    key = 'wa:' + datetime.now().isoformat()\n"
            "    enqueue_with_dedupe('q', f, e, dedupe_key=key)\n",
            lines=(6,),
            manual=(
                "dedupe_key built from key, which differs on every delivery: build the key from the"
            ),
        ),
        Invalid(
            "import time\nfrom rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('q', process_webhook_job, e,\n"
            "                    dedupe_key=f'wa-{int(time.time() * 1000)}')\n",
            lines=(4,),
            manual=(
                "dedupe_key built from time.time(), which differs on every delivery: build the key"
            ),
        ),
        Invalid(
            "import time\nfrom rqjobs import enqueue\n\n"
            "enqueue('q', process_webhook_job, e, job_id=f'wa-{int(time.time() * 1000)}')\n",
            lines=(4,),
            also=("RQJ300",),
            manual="job_id of event job process_webhook_job built from time.time(), which differs",
        ),
        Invalid(
            "import random\nimport rqjobs\n\n"
            "rqjobs.enqueue_with_dedupe('q', push_send_job, u, dedupe_key=f'p:{u}',\n"
            "                           job_id=f'push-{random.random()}')\n",
            lines=(4,),
            manual=(
                "job_id of event job push_send_job built from random.random(), which "
                "differs on every"
            ),
        ),
    ),
)


def _route_path(decorator: ast.Call) -> List[ast.AST]:
    candidates: List[ast.AST] = list(decorator.args[:1])
    for name in ("rule", "path"):
        kw = keyword(decorator, name)
        if kw is not None:
            candidates.append(kw.value)
    return candidates


def is_webhook_route(decorator: ast.AST) -> bool:
    """True for a route decorator whose path mentions a webhook or callback:
    ``@app.route("/webhooks/x")``, ``@bp.post("/twilio/callback")``, ``@router.post(path=...)``."""
    if not isinstance(decorator, ast.Call):
        return False
    func = decorator.func
    if not isinstance(func, ast.Attribute) or func.attr not in ROUTE_DECORATORS:
        return False
    for candidate in _route_path(decorator):
        if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
            path = candidate.value.lower()
            if any(word in path for word in ROUTE_WORDS):
                return True
    return False


# --- event sources (RQJ300) -------------------------------------------------------------
POST_METHODS = frozenset({"POST", "PUT", "PATCH"})
POST_DECORATORS = frozenset({"post", "put", "patch"})
METHOD_DECORATORS = frozenset({"route", "api_route", "api_view", "require_http_methods"})
# Decorators that say "a POST handler" (Django) or "called from outside" (no CSRF token).
POST_ONLY = frozenset({"require_POST", "require_post", "csrf_exempt"})
# A web app's startup and request hooks: web code (RQJ005), never a receiver of deliveries.
STARTUP_HOOKS = frozenset(
    {"on_event", "before_first_request", "before_serving", "before_request", "on_startup"}
)
HTTP_METHODS = frozenset({"post", "put", "patch"})
VIEW_SUFFIXES = ("View", "ViewSet", "Endpoint", "Resource", "RequestHandler")
ROUTER_PREFIXES = ("prefix", "url_prefix")
REQUEST_NAMES = frozenset({"request", "req"})
# request.<attr> and request.<method>() that hold the delivered body.
BODY_ATTRS = frozenset({"json", "data", "form", "body", "POST", "values", "files", "stream"})
BODY_CALLS = frozenset({"get_json", "json", "body", "form", "post", "read", "text", "get_data"})
# FastAPI parameter types and defaults that are not the request body.
NOT_BODY_TYPES = frozenset(
    {
        "Request",
        "Response",
        "WebSocket",
        "BackgroundTasks",
        "HTTPConnection",
        "Session",
        "AsyncSession",
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "UUID",
        "Optional",
        "Any",
    }
)
NOT_BODY_DEFAULTS = frozenset({"Depends", "Header", "Query", "Path", "Cookie", "Security"})
ADMIN_WORD = "admin"
# The job options of an enqueue, which never carry the delivered body.
JOB_OPTIONS = frozenset(
    {
        "job_id",
        "description",
        "at_front",
        "result_ttl",
        "ttl",
        "failure_ttl",
        "timeout",
        "job_timeout",
        "depends_on",
        "retry",
        "on_success",
        "on_failure",
        "on_stopped",
        "unique",
        "queue",
        "connection",
        "meta",
    }
)
# Listener registrations: SQLAlchemy, Django signals, blinker.
LISTENER_DECORATORS = frozenset({"listens_for", "receiver"})
SIGNAL_MODULES = (
    "django.db.models.signals.",
    "django.core.signals.",
    "django.dispatch.",
    "blinker.",
)
SIGNAL_CONSTRUCTORS = frozenset({"Signal", "signal", "ModelSignal"})
# Message-consumer registrations: pika's basic_consume, Pub/Sub's subscribe(callback=).
CONSUMER_METHODS = frozenset({"basic_consume", "subscribe", "consume", "add_consumer"})
CONSUMER_KEYWORDS = frozenset({"on_message_callback", "callback", "on_message", "handler"})
RQ_CALLBACK_KEYWORDS = frozenset({"on_success", "on_failure", "on_stopped"})
# Routes registered by a call (aiohttp add_post/add_route, Flask add_url_rule, Starlette
# add_route, FastAPI add_api_route): their handler receives deliveries when the path names one.
# Message consumers polled in a loop: Kafka consumers (iterated, or poll()/getmany()) and
# SQS (boto3's receive_message/receive_messages): a job built from a message is an event job.
CONSUMER_CLASSES = frozenset(
    {
        "kafka.KafkaConsumer",
        "kafka.consumer.KafkaConsumer",
        "aiokafka.AIOKafkaConsumer",
        "confluent_kafka.Consumer",
        "confluent_kafka.DeserializingConsumer",
    }
)
CONSUMER_POLLS = frozenset({"poll", "consume", "getmany", "getone"})
SQS_RECEIVES = frozenset({"receive_message", "receive_messages"})
ROUTE_REGISTRATIONS = frozenset(
    {"add_post", "add_put", "add_patch", "add_route", "add_url_rule", "add_api_route"}
)
# Route objects built by a call (aiohttp's route definitions for add_routes([...]),
# Starlette's Route(path, endpoint, methods=[...])): read like the registration they mirror.
ROUTE_DEFINITIONS = {
    "aiohttp.web.post": "add_post",
    "aiohttp.web.put": "add_put",
    "aiohttp.web.patch": "add_patch",
    "aiohttp.web.route": "add_route",
    "starlette.routing.Route": "add_route",
}
REGISTRATIONS = frozenset(
    {"listen", "connect", "connect_via", "Callback", *CONSUMER_METHODS, *ROUTE_REGISTRATIONS}
)
_STATE = "dedupe"
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _tokens(text: str) -> List[str]:
    return [t for t in _NON_WORD.split(_CAMEL.sub(r"\1_\2", text).lower()) if t]


def _names_a_word(text: str, words: Tuple[str, ...]) -> bool:
    """Does one word of ``text`` (split at ``_``, ``/``, ``.``, ``-`` and camelCase) equal one
    of ``words``, or its plural (``statuscallback``: a long word at the end counts too)?"""
    for token in _tokens(text):
        for word in words:
            if token == word or token == word + "s":
                return True
            if len(word) >= 7 and (token.endswith(word) or token.endswith(word + "s")):
                return True
    return False


def _strings(ctx: Context, expr: Optional[ast.AST], depth: int = 0) -> List[str]:
    """The string literals an expression is built from, through module constants
    (``"/" + CALLBACK_SEGMENT``, ``f"{PREFIX}/callback"``); never the arguments of a call
    (``os.getenv("PATH", "/webhook")``: the path is whatever the call returns)."""
    if expr is None or depth > 3:
        return []
    found: List[str] = []
    todo: List[ast.AST] = [expr]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Call):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
        elif isinstance(node, ast.Name):
            found += _strings(ctx, ctx.value_of(node), depth + 1)
        else:
            todo.extend(reversed(list(ast.iter_child_nodes(node))))
    return found


def _methods(ctx: Context, expr: Optional[ast.AST]) -> Optional[bool]:
    """Does a ``methods=[...]`` list accept POST/PUT/PATCH (``None``: not literal)?"""
    if not isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        return None
    return any(m.upper() in POST_METHODS for m in _strings(ctx, expr))


@dataclass
class _Evidence:
    http: bool = False
    post: Optional[bool] = None  # accepts POST (None: not known, a Django function view)
    route: bool = False  # the old shape: a route path with "webhook" or "callback"
    listener: bool = False
    startup: bool = False  # a web app's startup hook: @app.on_event("startup")
    texts: List[str] = field(default_factory=list)  # paths, prefixes, router names


def _decorator(ctx: Context, decorator: ast.AST, found: _Evidence) -> None:
    call = decorator if isinstance(decorator, ast.Call) else None
    target = call.func if call is not None else decorator
    name = terminal_name(target)
    if name is None:
        return
    if call is not None and is_webhook_route(call):
        found.route = True
    if name in LISTENER_DECORATORS and call is not None and call.args:
        qualname = ctx.resolve(target) or ""
        if name == "listens_for" or qualname.startswith(SIGNAL_MODULES) or qualname == name:
            found.listener = True  # @event.listens_for(Model, "after_insert"), @receiver(...)
        return
    if isinstance(target, ast.Attribute) and name in ("connect", "connect_via"):
        if _is_signal(ctx, target.value):
            found.listener = True  # blinker: @user_created.connect
        return
    if name in POST_ONLY:
        found.http, found.post = True, True if found.post is None else found.post
        return
    if name in STARTUP_HOOKS:
        found.startup = True  # web code that receives nothing (RQJ005)
        return
    if call is None:
        return
    is_route = isinstance(target, ast.Attribute) and name in ROUTE_DECORATORS
    if not is_route and name not in METHOD_DECORATORS:
        return
    found.http = True
    if name in POST_DECORATORS:
        post: Optional[bool] = True
    elif name in ("get", "delete"):
        post = False
    elif name in ("api_view", "require_http_methods"):
        listed = call.args[0] if call.args else None
        kw = keyword(call, "http_method_names")
        post = _methods(ctx, kw.value if kw is not None else listed) if (listed or kw) else False
    else:
        kw = keyword(call, "methods")
        post = _methods(ctx, kw.value) if kw is not None else False  # Flask: GET only
    if post is not False:
        found.post = post if found.post is None else (found.post or bool(post))
    elif found.post is None:
        found.post = False
    if is_route:
        found.texts += _strings(ctx, _route_path(call)[0] if _route_path(call) else None)
        assert isinstance(target, ast.Attribute)
        router = target.value
        found.texts.append(terminal_name(router) or "")
        built = ctx.value_of(router) if isinstance(router, ast.Name) else None
        if isinstance(built, ast.Call):  # APIRouter(prefix=...), Blueprint("hooks", ...)
            for prefix in ROUTER_PREFIXES:
                kw = keyword(built, prefix)
                if kw is not None:
                    found.texts += _strings(ctx, kw.value)
            if terminal_name(built.func) == "Blueprint" and built.args:
                found.texts += _strings(ctx, built.args[0])


def _is_signal(ctx: Context, expr: ast.AST) -> bool:
    qualname = ctx.resolve(expr)
    if qualname is not None and qualname.startswith(SIGNAL_MODULES):
        return True
    name = terminal_name(expr)
    if name is not None and "signal" in name.lower():
        return True
    built = ctx.value_of(expr) if isinstance(expr, ast.Name) else None
    return isinstance(built, ast.Call) and terminal_name(built.func) in SIGNAL_CONSTRUCTORS


def _annotation_name(arg: ast.arg) -> Optional[str]:
    annotation = arg.annotation
    if isinstance(annotation, ast.Subscript):  # Annotated[Model, ...], Optional[Model]
        annotation = (
            annotation.value
            if terminal_name(annotation.value) != "Annotated"
            else (
                annotation.slice.elts[0]  # type: ignore[attr-defined]
                if isinstance(annotation.slice, ast.Tuple)
                else annotation.slice
            )
        )
    return terminal_name(annotation) if annotation is not None else None


def _is_view(cls: ast.ClassDef) -> bool:
    """A class-based view: ``MethodView``, ``View``, ``APIView``, ``HTTPEndpoint``..."""
    for base in cls.bases:
        name = terminal_name(base)
        if name is not None and name.endswith(VIEW_SUFFIXES):
            return True
    return False


def event_source(
    ctx: Context,
    node: Union[ast.FunctionDef, ast.AsyncFunctionDef],
    cls: Optional[ast.ClassDef],
) -> Optional[EventSource]:
    """What the function ``node`` (a method of ``cls``) is for RQJ300: a receiver of
    deliveries, an HTTP handler whose request body may be a delivery, or neither (``None``)."""
    args = [*node.args.posonlyargs, *node.args.args]
    if cls is not None and args and args[0].arg in ("self", "cls"):
        args = args[1:]
    first = args[0] if args else None
    if not node.decorator_list:  # the common case, cheaply: a view or a function view?
        if cls is not None:
            if not _is_view(cls):
                return None
        elif first is None or (
            first.arg not in REQUEST_NAMES and _annotation_name(first) != "Request"
        ):
            return None
    found = _Evidence()
    for decorator in node.decorator_list:
        _decorator(ctx, decorator, found)
    request_names = {
        a.arg
        for a in [*args, *node.args.kwonlyargs]
        if a.arg in REQUEST_NAMES or _annotation_name(a) == "Request"
    }
    if cls is not None:
        if _is_view(cls):
            if node.name in HTTP_METHODS:
                found.http, found.post = True, True
            elif first is not None and first.arg in REQUEST_NAMES and found.post is None:
                found.http = True  # a view method taking the request (DRF @action)
            elif node.name == "get":
                return EventSource(event=False)  # web code, receives no delivery
            found.texts.append(cls.name)
    elif first is not None and first.arg in request_names and not found.http:
        found.http = True  # a Django or aiohttp function view: def view(request)
    if found.listener:
        return EventSource(event=True, http=False)
    if found.startup and not found.http:
        return EventSource(event=False)
    if not found.http and not found.route:
        return None
    texts = [*found.texts, node.name, ctx.module]
    admin = any(ADMIN_WORD in _tokens(text) for text in texts)
    receives = found.http and found.post is not False and not admin
    words = ctx.config.event_words
    event = found.route or (receives and any(_names_a_word(t, words) for t in texts))
    body_names: Set[str] = set()
    if receives:
        defaults: List[Optional[ast.AST]] = [None] * (len(args) - len(node.args.defaults))
        defaults += list(node.args.defaults)
        pairs = list(zip(args, defaults)) + list(zip(node.args.kwonlyargs, node.args.kw_defaults))
        for arg, default in pairs:
            kind = _annotation_name(arg)
            if kind is None or kind in NOT_BODY_TYPES or not kind[:1].isupper():
                continue
            if isinstance(default, ast.Call) and terminal_name(default.func) in NOT_BODY_DEFAULTS:
                continue
            body_names.add(arg.arg)  # a FastAPI body model: def hook(event: StripeEvent)
    if not event and not receives:
        return EventSource(event=False, http=found.http)
    return EventSource(
        event=event,
        body=receives,
        request_names=frozenset(request_names),
        body_names=frozenset(body_names),
        route=found.route,
    )


def _is_request(expr: ast.AST, source: EventSource) -> bool:
    if isinstance(expr, ast.Name):
        return expr.id in source.request_names or expr.id in REQUEST_NAMES
    return isinstance(expr, ast.Attribute) and expr.attr == "request"  # self.request


def _from_body(ctx: Context, expr: ast.AST, source: EventSource, depth: int = 0) -> bool:
    """Is ``expr`` built from the delivered request body?"""
    for node in ast.walk(expr):
        if isinstance(node, ast.Attribute) and node.attr in BODY_ATTRS:
            if _is_request(node.value, source):
                return True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in BODY_CALLS and _is_request(node.func.value, source):
                return True
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in source.body_names:
                return True
            if depth < 3:
                value = ctx.value_of(node)
                if value is not None and _from_body(ctx, value, source, depth + 1):
                    return True
    return False


def _consumer(ctx: Context, expr: ast.AST) -> bool:
    """Is ``expr`` a Kafka consumer built here (``KafkaConsumer(...)``, or a name bound once
    to one)?"""
    source = ctx.value_of(expr) if isinstance(expr, ast.Name) else expr
    return isinstance(source, ast.Call) and ctx.resolve(source.func) in CONSUMER_CLASSES


def _consumed(ctx: Context, expr: ast.AST, depth: int = 0) -> bool:
    """Is ``expr`` built from a message taken off a consumer: the variable of
    ``for msg in consumer``, ``consumer.poll(...)``, or an SQS ``receive_message(...)``
    (through local variables and loops over their parts)?"""
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in SQS_RECEIVES:
                return True
            if method in CONSUMER_POLLS and _consumer(ctx, node.func.value):
                return True
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and depth < 3:
            iterated = ctx.loop_values.get(node.id)
            if iterated is not None:
                if _consumer(ctx, iterated) or _consumed(ctx, iterated, depth + 1):
                    return True
                continue
            value = ctx.value_of(node)
            if value is not None and _consumed(ctx, value, depth + 1):
                return True
    return False


def _job_arguments(call: ast.Call, position: int) -> List[ast.AST]:
    values: List[ast.AST] = [*call.args[position + 1 :]]
    values += [kw.value for kw in call.keywords if kw.arg not in JOB_OPTIONS and kw.arg]
    return values


def _body_arguments(ctx: Context, call: ast.Call, position: int, source: EventSource) -> bool:
    values = [*call.args[position + 1 :]]
    values += [kw.value for kw in call.keywords if kw.arg not in JOB_OPTIONS and kw.arg]
    return any(_from_body(ctx, value, source) for value in values)


@dataclass
class _State:
    registered: Set[str] = field(default_factory=set)
    rq_callbacks: Set[str] = field(default_factory=set)
    # (call, facts, callee, enclosing functions, job arguments built from the function's own
    # parameters or locals)
    pending: List[Tuple[ast.Call, DedupeFacts, Optional[str], Tuple[str, ...], bool]] = field(
        default_factory=list
    )
    # Module-level functions (and methods) of this file called where events are received:
    # from a webhook route or a listener (``event_helpers``), or given the request body by an
    # HTTP handler (``helpers``); and which function calls which. An enqueue in such a helper,
    # one or two calls down, is an event enqueue (from an HTTP handler: when its job
    # arguments come from the helper's own parameters or locals).
    helpers: Set[str] = field(default_factory=set)
    event_helpers: Set[str] = field(default_factory=set)
    raw_calls: List[Tuple[List[str], str]] = field(default_factory=list)  # (ctx.functions, callee)


HELPER_DEPTH = 2  # how many calls down a handler's helpers are followed
_BUILTINS: FrozenSet[str] = frozenset(dir(builtins))  # len(), isinstance(): never a helper


def _module_function(ctx: Context, func: ast.AST) -> Optional[str]:
    """The name of a function defined at this module's top level that ``func`` calls, or
    ``Class.method`` for ``self.method`` called in a method of ``Class`` (matched in
    :func:`finish` only with a method that this class defines here)."""
    if isinstance(func, ast.Attribute):
        receiver = func.value
        if isinstance(receiver, ast.Name) and receiver.id == "self" and len(ctx.functions) == 2:
            return f"{ctx.functions[0]}.{func.attr}"
        return None
    if not isinstance(func, ast.Name) or ctx.binding_of(func) != LOCAL_DEF:
        return None
    return None if ctx.owner_is_function(func.id) else func.id


def _note_helper(ctx: Context, call: ast.Call) -> None:
    """Record a call to a module-level function of this file: from a receiver of events
    (every call; in an HTTP handler only one that passes on the request body), or from
    another module-level function (read by :func:`finish`)."""
    func = call.func
    source = ctx.event_source
    if source is not None and (source.event or source.body):
        helper = _module_function(ctx, func)
        if helper is not None:
            if source.event:
                ctx.state.setdefault(_STATE, _State()).event_helpers.add(helper)
            elif any(_from_body(ctx, a, source) for a in [*call.args, *call.keywords]):
                ctx.state.setdefault(_STATE, _State()).helpers.add(helper)
    functions = ctx.functions
    depth = len(functions)
    if depth > 2:
        return
    if type(func) is ast.Name:
        callee = func.id  # whether it is a module-level def: only pending enqueues tell
        if callee in _BUILTINS:
            return
    elif (
        depth == 2
        and type(func) is ast.Attribute
        and type(func.value) is ast.Name
        and func.value.id == "self"
    ):
        callee = functions[0] + "." + func.attr
    else:
        return
    state = ctx.state.get(_STATE)
    if state is None:
        state = ctx.state[_STATE] = _State()
    state.raw_calls.append((functions, callee))  # joined in finish, when a helper is known


def _nondeterministic_call(ctx: Context, expr: ast.AST) -> Optional[str]:
    """The spelled name of the first non-deterministic call or variable in ``expr``."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            qualname = ctx.resolve(node.func)
            if qualname is not None and (
                qualname in NONDETERMINISTIC or qualname.startswith(NONDETERMINISTIC_MODULES)
            ):
                return qualname + "()"
        elif isinstance(node, ast.Name) and ctx.binding_of(node) == NONDET:
            return node.id
    return None


def value_kind(ctx: Context, value: ast.AST) -> Optional[str]:
    if isinstance(value, (ast.Name, ast.Attribute, ast.Constant)):
        return None
    return NONDET if _nondeterministic_call(ctx, value) else None


def _job_keyword(call: ast.Call) -> Optional[ast.keyword]:
    """The job given by keyword: ``enqueue("hooks", func=job)``, ``q.enqueue(f=job)``."""
    return keyword(call, "func") or keyword(call, "f")


def _job_expr(call: ast.Call, position: int) -> Optional[ast.AST]:
    if position == DELAYED and isinstance(call.func, ast.Attribute):
        return call.func.value
    if len(call.args) > position:
        return call.args[position]
    kw = _job_keyword(call)
    return kw.value if kw is not None else None


def _job_name(expr: Optional[ast.AST]) -> Optional[str]:
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value.rsplit(".", 1)[-1]
    return terminal_name(expr)


def _is_event_job(ctx: Context, name: Optional[str], expr: Optional[ast.AST]) -> bool:
    """An event job by its name or decoration, or any job inside a webhook route."""
    source = ctx.event_source
    if source is not None and source.route:
        return True
    if name is None:
        return False
    if isinstance(expr, ast.Name) and name in ctx.event_job_defs:
        return True
    if expr is not None and ctx.project_event_job(expr):
        return True  # decorated with @event_job in its own module
    dotted = string_value(expr)
    # A dotted pattern (app.hooks.send_webhook) names an imported job as a whole.
    qualname = ctx.resolve(expr) if isinstance(expr, (ast.Name, ast.Attribute)) else None
    return any(
        fnmatchcase(name, pattern)
        or (dotted is not None and fnmatchcase(dotted, pattern))
        or (qualname is not None and "." in pattern and fnmatchcase(qualname, pattern))
        for pattern in ctx.config.event_jobs
    )


def _key_problem(ctx: Context, call: ast.Call) -> Optional[str]:
    kw = keyword(call, DEDUPE_KEY)
    if kw is None:
        if has_star_kwargs(call):
            return None
        return "enqueue_with_dedupe() without a dedupe_key"
    value = kw.value
    if isinstance(value, ast.Constant):
        if value.value is None or (isinstance(value.value, str) and not value.value.strip()):
            return "enqueue_with_dedupe() with an empty dedupe_key"
        return f"dedupe_key {value.value!r} is a constant: every event collapses into one"
    if isinstance(value, ast.JoinedStr) and not any(
        isinstance(part, ast.FormattedValue) for part in value.values
    ):
        return "dedupe_key is an f-string without placeholders: every event collapses into one"
    source = _nondeterministic_call(ctx, value)
    if source is not None:
        return f"dedupe_key built from {source}, which differs on every delivery"
    return None


def _split(
    ctx: Context, call: ast.Call, callee: Optional[str]
) -> Tuple[Optional[EnqueueKind], int]:
    """(how the job is enqueued, the job's position), or (None, 0) for any other call."""
    if wrapper_function(ctx.config, callee, WRAPPER_FUNCTIONS):
        assert callee is not None
        dedupe = callee.rsplit(".", 1)[-1] == ENQUEUE_WITH_DEDUPE
        kind = EnqueueKind.WRAPPER_DEDUPE if dedupe else EnqueueKind.WRAPPER_ENQUEUE
        return kind, 1 if len(call.args) >= 2 or _job_keyword(call) else 0
    if wrapper_function(ctx.config, callee, WRAPPER_SCHEDULING):
        return EnqueueKind.WRAPPER_ENQUEUE, 2 if len(call.args) >= 3 or _job_keyword(call) else 0
    if callee == DJANGO_RQ_ENQUEUE:  # django_rq.enqueue(func, ...): the default queue
        return EnqueueKind.QUEUE_METHOD, 0
    func = call.func
    if isinstance(func, ast.Attribute):
        position = JOB_POSITION.get(func.attr)
        if position is not None and is_queue(ctx, func.value):
            return EnqueueKind.QUEUE_METHOD, position
        if func.attr == PREPARE_DATA and (
            ctx.resolve(func.value) == QUEUE_CLASS or is_queue(ctx, func.value)
        ):
            return EnqueueKind.QUEUE_METHOD, 0  # a job for enqueue_many
        scheduled = SCHEDULER_POSITION.get(func.attr)
        if scheduled is not None and is_scheduler(ctx, func.value):
            return EnqueueKind.QUEUE_METHOD, scheduled
        if func.attr == DELAY and ctx.rq_job(func.value):
            return EnqueueKind.QUEUE_METHOD, DELAYED  # the job is the receiver
    return None, 0


def _deterministic_id(ctx: Context, call: ast.Call) -> bool:
    """A ``job_id`` built from the event (not a constant, nothing that differs per call)."""
    kw = keyword(call, "job_id")
    if kw is None or isinstance(kw.value, ast.Constant):
        return False
    return _nondeterministic_call(ctx, kw.value) is None


def _registered_route(ctx: Context, call: ast.Call, name: str) -> Optional[ast.AST]:
    """The handler of a route registration that receives deliveries: a POST-like route whose
    path names an event word (``app.router.add_post("/webhooks/sms", sms)``)."""
    args = list(call.args)
    methods: Optional[bool] = name in ("add_post", "add_put", "add_patch")
    if name == "add_route" and args and string_value(args[0]) is not None:
        first = string_value(args[0]) or ""
        if first.startswith("/"):  # Starlette: add_route(path, endpoint, methods=[...])
            methods = None
        else:  # aiohttp: add_route(method, path, handler)
            methods = first.upper() in POST_METHODS or first == "*"
            args = args[1:]
    if not args:
        return None
    path = args[0]
    handler: Optional[ast.AST] = args[2] if name == "add_url_rule" and len(args) > 2 else None
    if handler is None and name != "add_url_rule" and len(args) > 1:
        handler = args[1]
    # Flask's endpoint= is a name; the function is view_func=.
    handler_keywords = ("view_func",) if name == "add_url_rule" else ("endpoint", "handler")
    for kw in call.keywords:
        if kw.arg in handler_keywords:
            handler = kw.value
        elif kw.arg == "methods":
            methods = _methods(ctx, kw.value)
    if not methods or handler is None:
        return None
    texts = _strings(ctx, path)
    if any(ADMIN_WORD in _tokens(text) for text in texts):
        return None
    if not any(_names_a_word(text, ctx.config.event_words) for text in texts):
        return None
    return handler


def _register(ctx: Context, call: ast.Call) -> None:
    """Record the functions this call registers as a listener, a consumer or an rq callback
    (read by :func:`finish`)."""
    func = call.func
    name = terminal_name(func)
    callbacks: List[ast.AST] = []
    for kw in call.keywords:
        if kw.arg in RQ_CALLBACK_KEYWORDS:
            callbacks.append(kw.value)
    if name in ("post", "put", "patch", "route", "Route"):
        name = ROUTE_DEFINITIONS.get(ctx.resolve(func) or "", name)
    if name not in REGISTRATIONS and not callbacks:
        return
    handlers: List[ast.AST] = []
    if name == "listen" and len(call.args) >= 3 and string_value(call.args[1]) is not None:
        handlers.append(call.args[2])  # sqlalchemy event.listen(Model, "after_insert", fn)
    elif isinstance(func, ast.Attribute) and name in ("connect", "connect_via") and call.args:
        if _is_signal(ctx, func.value):
            handlers.append(call.args[0])  # post_save.connect(fn, sender=Model)
    elif name in CONSUMER_METHODS:
        handlers += [kw.value for kw in call.keywords if kw.arg in CONSUMER_KEYWORDS]
        if name == "basic_consume" and len(call.args) >= 2:
            handlers.append(call.args[1])
    elif name == "Callback" and call.args:  # rq.Callback(fn)
        callbacks.append(call.args[0])
    elif name in ROUTE_REGISTRATIONS:
        handler = _registered_route(ctx, call, name)
        if handler is not None:
            handlers.append(handler)
    if not handlers and not callbacks:
        return
    state = ctx.state.setdefault(_STATE, _State())
    state.registered.update(terminal_name(h) or "" for h in handlers)
    state.rq_callbacks.update(terminal_name(c) or "" for c in callbacks)


def check_call(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    kind, position = _split(ctx, call, callee)
    _register(ctx, call)
    if kind is None:
        if isinstance(call.func, (ast.Name, ast.Attribute)) and ctx.functions:
            _note_helper(ctx, call)
        return
    job = _job_expr(call, position)
    name = _job_name(job)
    if kind is EnqueueKind.WRAPPER_DEDUPE:
        problem = _key_problem(ctx, call)
        if problem is not None:
            facts = DedupeFacts(kind, name, problem)
            ctx.report(call, RQJ301, facts, callee, problem=problem)
    by_name = _is_event_job(ctx, name, job)
    source = ctx.event_source
    by_source = (
        not by_name
        and source is not None
        and (source.event or (source.body and _body_arguments(ctx, call, position, source)))
    )
    if not by_name and not by_source and ctx.loop_depth and _unkeyed(ctx, call, kind):
        by_source = any(_consumed(ctx, value) for value in _job_arguments(call, position))
    if not by_name and not by_source:
        if ctx.functions and _unkeyed(ctx, call, kind):
            # A message consumer or a listener registered anywhere in the file: decided
            # once the whole file is known (finish).
            state = ctx.state.setdefault(_STATE, _State())
            local = any(
                isinstance(node, ast.Name) and ctx.owner_is_function(node.id)
                for value in _job_arguments(call, position)
                for node in ast.walk(value)
            )
            facts = DedupeFacts(kind, name)
            state.pending.append((call, facts, callee, tuple(ctx.functions), local))
        return
    job_id = keyword(call, "job_id")
    if job_id is not None:
        nondet = _nondeterministic_call(ctx, job_id.value)
        if nondet is not None:
            problem = (
                f"job_id of event job {name or 'job'} built from {nondet}, "
                "which differs on every delivery"
            )
            ctx.report(call, RQJ301, DedupeFacts(kind, name, problem), callee, problem=problem)
    if not _unkeyed(ctx, call, kind):
        return
    if by_source and _deterministic_id(ctx, call):
        return  # job_id=f"stripe-{event['id']}": the event's own id
    ctx.report(call, RQJ300, DedupeFacts(kind, name), callee, job=name or "this job")


def _unkeyed(ctx: Context, call: ast.Call, kind: EnqueueKind) -> bool:
    """No dedupe key of any kind: not enqueue_with_dedupe, no ``**kwargs``, no
    ``dedupe_key=``, no ``job_id=`` with ``unique=True``."""
    if kind is EnqueueKind.WRAPPER_DEDUPE or has_star_kwargs(call):
        return False
    if keyword(call, DEDUPE_KEY) is not None:
        return False
    unique = keyword(call, "unique")
    return not (
        keyword(call, "job_id") is not None
        and unique is not None
        and isinstance(unique.value, ast.Constant)
        and unique.value.value is True
    )


def _reached(helpers: Set[str], calls: Dict[str, Set[str]]) -> Set[str]:
    """``helpers`` and the functions they call, :data:`HELPER_DEPTH` calls down in all."""
    found = set(helpers)
    reached = set(helpers)
    for _ in range(HELPER_DEPTH - 1):
        reached = {g for f in reached for g in calls.get(f, ()) if g != f} - found
        found |= reached
    return found


def finish(ctx: Context) -> None:
    """RQJ300 in message consumers and listeners registered anywhere in the file
    (``channel.basic_consume(queue, on_message_callback=handle)``, ``post_save.connect(f)``,
    ``event.listen(Model, "after_insert", f)``) or named like a consumer callback
    (``consumer-callbacks``); never in rq's own on_success/on_failure callbacks."""
    state = ctx.state.get(_STATE)
    if not isinstance(state, _State) or not state.pending:
        return
    patterns = ctx.config.consumer_callbacks
    calls: Dict[str, Set[str]] = {}
    if state.helpers or state.event_helpers:
        for caller, called in state.raw_calls:
            calls.setdefault(".".join(caller), set()).add(called)
    event_helpers = _reached(state.event_helpers, calls)
    body_helpers = _reached(state.helpers, calls)
    for call, facts, callee, functions, local in state.pending:
        if any(name in state.rq_callbacks for name in functions):
            continue
        key = ".".join(functions) if len(functions) <= 2 else ""
        helper = key in event_helpers or (local and key in body_helpers)
        if not helper and not any(
            name in state.registered or any(fnmatchcase(name, p) for p in patterns)
            for name in functions
        ):
            continue
        if _deterministic_id(ctx, call):
            continue
        ctx.report(call, RQJ300, facts, callee, job=facts.job or "this job")


FAMILY = Family("dedupe", (RQJ300, RQJ301), check_call, value_kind, finish)
