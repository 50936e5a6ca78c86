"""profile360: an event-sourced Customer 360 service."""
