"""The web console: server-rendered pages on the API's origin that speak the same REST API as the CLI.

`install_console(app)` adds the pages under /console, their static files, and a redirect from /.
"""

from costlake.web.routes import install_console

__all__ = ["install_console"]
