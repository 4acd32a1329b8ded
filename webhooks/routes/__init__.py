"""One ``APIRouter`` per source; ``webhooks.api`` puts them together."""
