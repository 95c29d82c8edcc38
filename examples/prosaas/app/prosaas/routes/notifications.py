"""Notification routes: ask for a push notification to be sent."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from prosaas.services.notifications import dispatch_push

notifications_bp = Blueprint("notifications", __name__)

REQUIRED = ("notification_id", "user_id", "title")


@notifications_bp.route("/api/notifications", methods=["POST"])
def create_notification():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error=f"body must be a JSON object with {', '.join(REQUIRED)}"), 400
    missing = [name for name in REQUIRED if not str(data.get(name) or "").strip()]
    if missing:
        return jsonify(error=f"missing field(s): {', '.join(missing)}"), 400
    job = dispatch_push(str(data["notification_id"]), str(data["user_id"]), str(data["title"]))
    return jsonify(status="queued" if job is not None else "duplicate"), 202
