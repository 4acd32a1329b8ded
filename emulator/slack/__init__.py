"""A local Slack Web API for the real ``slack_sdk`` clients, and Slack-style signed requests
(button clicks, slash commands, modal submissions) to send to the app.

Imports nothing else of the project: tests and the demo wire it to the webhook service.
"""

from emulator.slack.app import create_app
from emulator.slack.commands import (
    InputValue,
    aslash_command,
    asubmit_view,
    build_slash_command,
    build_view_submission,
    slash_command,
    state_values,
    submit_view,
    view_submission_payload,
)
from emulator.slack.interactions import (
    SignedRequest,
    aclick,
    asend,
    block_actions_payload,
    build_click,
    click,
    send,
    sign_body,
    sign_payload,
)
from emulator.slack.server import SlackEmulatorServer
from emulator.slack.state import Channel, SlackApiFailure, SlackState, User, UserGroup
from emulator.slack.views import View

__all__ = [
    "Channel",
    "InputValue",
    "SignedRequest",
    "SlackApiFailure",
    "SlackEmulatorServer",
    "SlackState",
    "User",
    "UserGroup",
    "View",
    "aclick",
    "asend",
    "aslash_command",
    "asubmit_view",
    "block_actions_payload",
    "build_click",
    "build_slash_command",
    "build_view_submission",
    "click",
    "create_app",
    "send",
    "sign_body",
    "sign_payload",
    "slash_command",
    "state_values",
    "submit_view",
    "view_submission_payload",
]
