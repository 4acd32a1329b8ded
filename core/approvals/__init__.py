"""What decides an approval: the rules (quorum, approvers, protected people, break-glass)."""
