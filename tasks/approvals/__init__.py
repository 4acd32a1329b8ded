"""The approval gate: the policy every path obeys, the durable votes, Slack messages."""
