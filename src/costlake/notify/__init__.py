"""Notifications: channels (Slack, Microsoft Teams, email, signed webhooks), message rendering, SSRF checks, and
deliveries with retries. What to tell is decided elsewhere (costlake.alerts records notices); this package gets
each notice to each channel, once, and logs every attempt."""
