"""The event queue between the webhook and the dispatcher."""
