"""Slack interactivity (button clicks). Placeholder; filled in by the Slack approvals work."""

from fastapi import APIRouter

router = APIRouter(prefix="/slack", tags=["slack"])
