"""A local Slack Web API for the real ``slack_sdk`` clients, and Slack-style signed clicks.

Imports nothing else of the project: tests and the demo wire it to the webhook service.
"""

from emulator.slack.app import create_app
from emulator.slack.interactions import (
    SignedRequest,
    aclick,
    block_actions_payload,
    build_click,
    click,
    sign_payload,
)
from emulator.slack.server import SlackEmulatorServer
from emulator.slack.state import SlackApiFailure, SlackState, User, UserGroup

__all__ = [
    "SignedRequest",
    "SlackApiFailure",
    "SlackEmulatorServer",
    "SlackState",
    "User",
    "UserGroup",
    "aclick",
    "block_actions_payload",
    "build_click",
    "click",
    "create_app",
    "sign_payload",
]
