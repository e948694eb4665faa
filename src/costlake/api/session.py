"""How the console's browser session carries an API token: names shared by the API's auth and the console."""

SESSION_COOKIE = "costlake_session"  # HTTP-only, SameSite=Strict; its value is the API token
CONSOLE_HEADER = "X-Costlake-Console"  # sent by the console's script on requests that change data (CSRF guard)
