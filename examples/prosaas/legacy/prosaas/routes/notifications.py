"""Notification routes: ask for a push notification to be sent."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from prosaas.services.notifications import dispatch_push

notifications_bp = Blueprint("notifications", __name__)


@notifications_bp.route("/api/notifications", methods=["POST"])
def create_notification():
    data = request.get_json()
    dispatch_push(data["notification_id"], data["user_id"], data["title"])
    return jsonify(status="queued"), 202
